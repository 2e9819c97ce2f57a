# bash completion for devctl: command words come from `devctl help`, so every
# area's commands complete without a list kept here.
_devctl()
{
        local cur words cmds prefix
        cur=${COMP_WORDS[COMP_CWORD]}
        prefix="${COMP_WORDS[*]:1:COMP_CWORD-1}"
        # drop global options from the typed prefix
        prefix=$(printf '%s\n' "$prefix" | sed -E 's/(^| )--(json|rundir [^ ]+|confdir [^ ]+|timeout [^ ]+|identity [^ ]+)//g; s/^ +//')
        if [[ $cur == --* && -z $prefix ]]; then
                COMPREPLY=($(compgen -W "--json --rundir --confdir --timeout --identity --help" -- "$cur"))
                return
        fi
        cmds=$(devctl help 2>/dev/null | awk '/^  [a-z]/ { sub(/^  /, ""); print substr($0, 1, 29) }' | sed 's/ *$//')
        words=$(printf '%s\n' "$cmds" | while read -r c; do
                if [[ -z $prefix ]]; then echo "${c%% *}";
                elif [[ $c == "$prefix "* ]]; then rest=${c#"$prefix "}; echo "${rest%% *}"; fi
        done | sort -u)
        case "$prefix" in
        call|"config get"|"config set"|"config reset"|"config export"|"config import")
                words=$(devctl --json status 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4) ;;
        factory-reset)
                words="--yes --wipe-logs --json" ;;
        audit*)
                if [[ ${COMP_WORDS[COMP_CWORD-1]} == --format ]]; then words="text json sarif"
                elif [[ ${COMP_WORDS[COMP_CWORD-1]} == --level ]]; then words="1 2 3"
                else words="--level --json --format --mapping"; fi ;;
        esac
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _devctl devctl
