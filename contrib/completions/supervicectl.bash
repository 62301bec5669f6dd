# bash completion for supervicectl(1)
#
# Install as /usr/share/bash-completion/completions/supervicectl, or source it
# from ~/.bashrc. Works with or without the bash-completion package.
#
# Instance names come from "supervicectl status" (first column, after the two
# header lines), asked of the socket given earlier on the command line with
# -s/--socket, else of the default one. The daemon does not list its groups,
# so startgroup/stopgroup offer the program names (instance names without
# their :NN suffix) as a best effort: they are right for programs in no
# [group:*] section.

# Prints the -s option to reach the socket named on the command line so far,
# if any: "-s" and the path, one per line.
_supervicectl_socket()
{
    local i word socket=""
    for ((i = 1; i < ${#_supervicectl_words[@]} - 1; i++)); do
        word=${_supervicectl_words[i]}
        case $word in
            -s | --socket) socket=${_supervicectl_words[i + 1]} ;;
            --socket=*) socket=${word#--socket=} ;;
            -s?*) socket=${word#-s} ;;
        esac
    done
    [[ -n $socket ]] || return 0
    # The shell has not expanded a leading ~ in the line being completed.
    [[ $socket == \~/* ]] && socket=$HOME/${socket#\~/}
    printf '%s\n' -s "$socket"
}

# Instance names, one per line.
_supervicectl_instances()
{
    local -a socket
    mapfile -t socket < <(_supervicectl_socket)
    supervicectl "${socket[@]}" --timeout 2 status 2>/dev/null |
        awk 'NR > 2 && NF { print $1 }'
}

# Group names, best effort: program names without a :NN suffix.
_supervicectl_groups()
{
    _supervicectl_instances | sed 's/:[0-9][0-9]*$//' | sort -u
}

_supervicectl()
{
    # Split the line ourselves rather than use COMP_WORDS, so that a name
    # such as worker:01 stays one word whatever COMP_WORDBREAKS says.
    local line=${COMP_LINE:0:COMP_POINT}
    local -a _supervicectl_words
    read -r -a _supervicectl_words <<<"$line"
    [[ $line == *[[:space:]] || ${#_supervicectl_words[@]} -eq 0 ]] &&
        _supervicectl_words+=("")
    local count=${#_supervicectl_words[@]}
    local cur=${_supervicectl_words[count - 1]}
    local prev=""
    ((count > 1)) && prev=${_supervicectl_words[count - 2]}

    # The command and its name, skipping options and their values.
    local i word command="" name="" skip=""
    for ((i = 1; i < count - 1; i++)); do
        word=${_supervicectl_words[i]}
        if [[ -n $skip ]]; then
            skip=
            continue
        fi
        case $word in
            -s | --socket | --timeout) skip=1 ;;
            -*) ;;
            *)
                if [[ -z $command ]]; then
                    command=$word
                elif [[ -z $name ]]; then
                    name=$word
                fi
                ;;
        esac
    done

    local -a candidates=()
    case $prev in
        -s | --socket)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return 0
            ;;
        --timeout)
            return 0
            ;;
    esac

    if [[ $cur == -* ]]; then
        candidates=(-s --socket --timeout --version -h --help)
        case $command in
            status) candidates+=(--json) ;;
            restart) candidates+=(--force) ;;
        esac
    elif [[ -z $command ]]; then
        candidates=(status start stop restart startgroup stopgroup reload)
    elif [[ -z $name ]]; then
        case $command in
            start | stop | restart) mapfile -t candidates < <(_supervicectl_instances) ;;
            startgroup | stopgroup) mapfile -t candidates < <(_supervicectl_groups) ;;
        esac
    fi

    COMPREPLY=()
    local candidate
    for candidate in "${candidates[@]}"; do
        [[ $candidate == "$cur"* ]] && COMPREPLY+=("$candidate")
    done

    # When ':' breaks words, bash replaces only the part of the word after the
    # last ':'; offer that part.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local prefix=${cur%"${cur##*:}"}
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}
        done
    fi
    return 0
}

complete -F _supervicectl supervicectl
