#!/bin/sh
# Guest job for boots that only run KUnit.
echo "lab: KUnit boot done"
