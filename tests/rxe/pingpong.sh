#!/bin/sh
# ibv_rc_pingpong over rxe0, looped back, GID index 0.
ibv_rc_pingpong -d rxe0 -g 0 -n 200 >/tmp/pp-server.log 2>&1 &
srv=$!
sleep 1
ibv_rc_pingpong -d rxe0 -g 0 -n 200 127.0.0.1
rc=$?
wait $srv
src=$?
cat /tmp/pp-server.log
[ $rc = 0 ] && [ $src = 0 ] || exit 1
grep -q 'iters in' /tmp/pp-server.log
