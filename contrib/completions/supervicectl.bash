# bash completion for supervicectl(1)
#
# Install as /usr/share/bash-completion/completions/supervicectl, or source it
# from ~/.bashrc. Works with or without the bash-completion package.
#
# Process names come from supervicectl itself, asked with the -c, -s, -u and
# -p given earlier on the command line and --timeout 2, so that completion
# never hangs:
#   - over XML-RPC (-c FILE, or -s unix:///PATH or http://HOST[:PORT]),
#     "supervicectl avail": the first column is GROUP:NAME, or NAME for the one
#     process of a group of the same name;
#   - over the Supervice protocol (-s PATH, or the default socket),
#     "supervicectl status": the first column after the two header lines.
# GROUP:* is offered for every GROUP that a name GROUP:... shows, and group
# names are the part of the names before the ':' (the whole name without
# one): for Supervice's PROGRAM:NN instances that is the program, right for
# programs in no [group:*] section.

_supervicectl_command_names=(
    status start stop restart signal pid tail maintail clear reread update
    add remove avail shutdown reload version fg open help startgroup stopgroup
)

# A word as typed on the line, with its quotes and backslashes removed and a
# leading ~/ expanded: the shell has not done either yet.
_supervicectl_unquote()
{
    local word=$1 out="" quote="" c i
    for ((i = 0; i < ${#word}; i++)); do
        c=${word:i:1}
        if [[ $quote == "'" ]]; then
            [[ $c == "'" ]] && quote="" || out+=$c
        elif [[ $c == \\ ]]; then
            ((i++))
            out+=${word:i:1}
        elif [[ -n $quote ]]; then
            [[ $c == '"' ]] && quote="" || out+=$c
        elif [[ $c == [\'\"] ]]; then
            quote=$c
        else
            out+=$c
        fi
    done
    [[ $word == \~/* ]] && out=$HOME/${out#\~/}
    printf '%s' "$out"
}

# Sets _supervicectl_words to the words of the line up to the cursor, as
# typed (quotes kept), the last one being the word completed (possibly
# empty). The line is split ourselves rather than taken from COMP_WORDS, so
# that worker:01, web:* and unix:///run/x stay one word whatever
# COMP_WORDBREAKS says, and a quoted '/my dir/x.conf' too; without COMP_LINE,
# the pieces of COMP_WORDS that COMP_WORDBREAKS split at ':' and '=' are
# joined again.
_supervicectl_split()
{
    _supervicectl_words=()
    if [[ -n ${COMP_LINE+set} && -n ${COMP_POINT+set} ]]; then
        local line=${COMP_LINE:0:COMP_POINT} word="" quote="" c i
        local inword=0
        for ((i = 0; i < ${#line}; i++)); do
            c=${line:i:1}
            if [[ -n $quote ]]; then
                word+=$c
                if [[ $c == "$quote" ]]; then
                    quote=""
                elif [[ $quote == '"' && $c == \\ ]]; then
                    ((i++))
                    word+=${line:i:1}
                fi
            elif [[ $c == \\ ]]; then
                ((i++))
                word+=$c${line:i:1}
                inword=1
            elif [[ $c == [\'\"] ]]; then
                quote=$c
                word+=$c
                inword=1
            elif [[ $c == [[:space:]] ]]; then
                ((inword)) && _supervicectl_words+=("$word")
                word="" inword=0
            else
                word+=$c
                inword=1
            fi
        done
        _supervicectl_words+=("$word")
        return 0
    fi
    local i word last
    for ((i = 0; i <= COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        last=$((${#_supervicectl_words[@]} - 1))
        if ((i > 1 && last >= 0)) &&
            [[ $word == [:=]* || ${_supervicectl_words[last]} == *[:=] ]]; then
            _supervicectl_words[last]+=$word
        else
            _supervicectl_words+=("$word")
        fi
    done
    ((${#_supervicectl_words[@]} > 0)) || _supervicectl_words=("")
}

# From the words before the one completed, sets:
#   _supervicectl_conn     the -c, -s, -u and -p options given, to pass on
#   _supervicectl_xmlrpc   1 when they select XML-RPC, else 0
#   _supervicectl_command  the command, or empty
#   _supervicectl_args     the words after the command
_supervicectl_parse()
{
    local i word value="" option="" count=${#_supervicectl_words[@]}
    local config="" server="" user="" password=""
    _supervicectl_command=""
    _supervicectl_args=()
    for ((i = 1; i < count - 1; i++)); do
        word=${_supervicectl_words[i]}
        if [[ -n $_supervicectl_command ]]; then
            _supervicectl_args+=("$word")
            continue
        fi
        option="" value=""
        case $word in
            -c | -s | -u | -p | --timeout)
                option=$word
                if ((i + 1 < count - 1)); then
                    value=${_supervicectl_words[i + 1]}
                    ((i++))
                fi
                ;;
            --timeout=*) ;;
            -[csup]?*) option=${word:0:2} value=${word:2} ;;
            -*) ;;
            *) _supervicectl_command=$word ;;
        esac
        case $option in
            -c) config=$(_supervicectl_unquote "$value") ;;
            -s) server=$(_supervicectl_unquote "$value") ;;
            -u) user=$(_supervicectl_unquote "$value") ;;
            -p) password=$(_supervicectl_unquote "$value") ;;
        esac
    done
    _supervicectl_conn=()
    [[ -n $config ]] && _supervicectl_conn+=(-c "$config")
    [[ -n $server ]] && _supervicectl_conn+=(-s "$server")
    [[ -n $user ]] && _supervicectl_conn+=(-u "$user")
    [[ -n $password ]] && _supervicectl_conn+=(-p "$password")
    _supervicectl_xmlrpc=0
    case $server in
        unix://* | http://*) _supervicectl_xmlrpc=1 ;;
        "") [[ -n $config ]] && _supervicectl_xmlrpc=1 ;;
    esac
    return 0
}

# Process names, one per line, from the daemon the command line names.
_supervicectl_names()
{
    local query=status
    ((_supervicectl_xmlrpc)) && query=avail
    local listing
    listing=$(supervicectl "${_supervicectl_conn[@]}" --timeout 2 "$query" \
        2>/dev/null </dev/null) || return 0
    # supervicectl status has two header lines: NAME ... and dashes.
    printf '%s\n' "$listing" |
        awk 'NR == 1 && $1 == "NAME" { skip = 2 } NR > skip && NF { print $1 }'
}

# Group names, one per line: the names before their ':'.
_supervicectl_groups()
{
    _supervicectl_names | awk '{ sub(/:.*/, ""); if (!seen[$0]++) print }'
}

# Process names, then GROUP:* for every group that names show, then all.
_supervicectl_specs()
{
    local -a names
    mapfile -t names < <(_supervicectl_names)
    ((${#names[@]})) && printf '%s\n' "${names[@]}"
    ((${#names[@]})) && printf '%s\n' "${names[@]}" |
        awk '/:/ { sub(/:.*/, ""); if (!seen[$0]++) print $0 ":*" }'
    echo all
}

# Signal names, as "signal" takes them: HUP, or SIGHUP when SIG is typed.
_supervicectl_signals()
{
    local prefix=""
    [[ $1 == SIG* ]] && prefix=SIG
    local signal
    for signal in HUP INT QUIT KILL USR1 USR2 TERM ALRM CHLD CONT STOP TSTP \
        TTIN TTOU WINCH; do
        echo "$prefix$signal"
    done
}

# Completes the -s server: files, unix:// followed by a path, the schemes.
_supervicectl_server()
{
    local cur=$1 path entry
    if [[ $cur == unix://* ]]; then
        path=${cur#unix://}
        while IFS= read -r entry; do
            [[ -d $entry ]] && entry+=/
            candidates+=("unix://$entry")
        done < <(compgen -f -- "$path")
        compopt -o nospace 2>/dev/null
    elif [[ $cur == http://* ]]; then
        return 0
    elif [[ -n $cur && ( unix:// == "$cur"* || http:// == "$cur"* ) ]]; then
        candidates=(unix:// http://)
        compopt -o nospace 2>/dev/null
    else
        compopt -o filenames 2>/dev/null
        mapfile -t candidates < <(compgen -f -- "$cur")
    fi
}

_supervicectl()
{
    local -a _supervicectl_words _supervicectl_conn _supervicectl_args
    local _supervicectl_command _supervicectl_xmlrpc
    _supervicectl_split
    _supervicectl_parse
    local count=${#_supervicectl_words[@]}
    local cur=${_supervicectl_words[count - 1]}
    local prev=""
    ((count > 1)) && prev=${_supervicectl_words[count - 2]}
    local command=$_supervicectl_command
    local -a args=("${_supervicectl_args[@]}") candidates=()

    COMPREPLY=()
    if [[ -z $command ]]; then
        case $prev in
            -c)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                return 0
                ;;
            -s)
                _supervicectl_server "$cur"
                ;;
            -u | -p | --timeout)
                return 0
                ;;
            *)
                if [[ $cur == --timeout=* ]]; then
                    return 0
                elif [[ $cur == -* ]]; then
                    candidates=(-c -s -u -p --timeout --json -h --help --version)
                else
                    candidates=("${_supervicectl_command_names[@]}")
                fi
                ;;
        esac
    else
        local nargs=${#args[@]}
        case $command in
            status | start | stop)
                mapfile -t candidates < <(_supervicectl_specs)
                ;;
            restart)
                if [[ $cur == -* ]]; then
                    ((_supervicectl_xmlrpc)) || candidates=(--force)
                else
                    mapfile -t candidates < <(_supervicectl_specs)
                fi
                ;;
            signal)
                if ((nargs == 0)); then
                    mapfile -t candidates < <(_supervicectl_signals "$cur")
                else
                    mapfile -t candidates < <(_supervicectl_specs)
                fi
                ;;
            pid | clear)
                mapfile -t candidates < <(_supervicectl_names)
                candidates+=(all)
                ;;
            tail)
                # tail [-f|-BYTES] NAME [stdout|stderr]
                local -a positional=("${args[@]}")
                [[ ${positional[0]} == -* ]] && positional=("${positional[@]:1}")
                if [[ $cur == -* ]]; then
                    ((nargs == 0)) && candidates=(-f)
                elif ((${#positional[@]} == 0)); then
                    mapfile -t candidates < <(_supervicectl_names)
                elif ((${#positional[@]} == 1)); then
                    candidates=(stdout stderr)
                fi
                ;;
            maintail)
                [[ $cur == -* ]] && ((nargs == 0)) && candidates=(-f)
                ;;
            fg)
                ((nargs == 0)) && mapfile -t candidates < <(_supervicectl_names)
                ;;
            add | remove)
                mapfile -t candidates < <(_supervicectl_groups)
                ;;
            update)
                mapfile -t candidates < <(_supervicectl_groups)
                candidates+=(all)
                ;;
            startgroup | stopgroup)
                ((nargs == 0)) && mapfile -t candidates < <(_supervicectl_groups)
                ;;
            help)
                ((nargs == 0)) && candidates=("${_supervicectl_command_names[@]}")
                ;;
        esac
    fi

    local candidate
    for candidate in "${candidates[@]}"; do
        [[ -n $candidate && $candidate == "$cur"* ]] && COMPREPLY+=("$candidate")
    done

    # When ':' breaks words, bash replaces only the part of the word after the
    # last ':'; offer that part.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local prefix=${cur%"${cur##*:}"} i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}
        done
    fi
    return 0
}

complete -F _supervicectl supervicectl
