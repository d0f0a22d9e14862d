# Shared helpers for the lab scripts. Sourced, not run.
LAB_T0=${LAB_T0:-$(date +%s)}
export LAB_T0

lab_elapsed() {
	local s=$(($(date +%s) - LAB_T0))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# lab_say STAGE MESSAGE...
lab_say() {
	local stage=$1
	shift
	printf '[lab %s %s] %s\n' "$(lab_elapsed)" "$stage" "$*"
}

lab_die() {
	lab_say error "$*" >&2
	exit 1
}
