# fish completion for supervicectl(1)
#
# Install as ~/.config/fish/completions/supervicectl.fish, or in the
# vendor_completions.d directory that "pkg-config --variable
# completionsdir fish" names.
#
# Process names come from supervicectl itself, asked with the -c, -s, -u and
# -p given on the command line and --timeout 2, so that completion never
# hangs:
#   - over XML-RPC (-c FILE, or -s unix:///PATH or http://HOST[:PORT]),
#     "supervicectl avail": the first column is GROUP:NAME, or NAME for the one
#     process of a group of the same name;
#   - over the Supervice protocol (-s PATH, or the default socket),
#     "supervicectl status": the first column after the two header lines.
# GROUP:* is offered for every GROUP that a name GROUP:... shows, and group
# names are the part of the names before the ':' (the whole name without
# one): for Supervice's PROGRAM:NN instances that is the program, right for
# programs in no [group:*] section.

# The options before the command, "-c FILE" and so on, as lines "OPTION
# VALUE"; then the command and the words after it, as lines "- WORD".
function __supervicectl_parse
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l count (count $tokens)
    set -l i 1
    while test $i -le $count
        set -l token $tokens[$i]
        if contains -- $token -c -s -u -p --timeout
            if test $i -lt $count
                set i (math $i + 1)
                printf '%s %s\n' $token $tokens[$i]
            end
        else if string match -qr -- '^-[csup].' $token
            printf '%s %s\n' (string sub -l 2 -- $token) (string sub -s 3 -- $token)
        else if not string match -q -- '-*' $token
            break
        end
        set i (math $i + 1)
    end
    for token in $tokens[$i..-1]
        printf '%s %s\n' - $token
    end
end

# The command and the words after it, one per line.
function __supervicectl_args
    __supervicectl_parse | string replace -rf -- '^- ' ''
end

# The value of the option $argv[1] before the command (the last one given).
function __supervicectl_option
    set -l values (__supervicectl_parse | string replace -rf -- "^$argv[1] " '')
    test (count $values) -gt 0; or return 1
    # The line being completed has not been expanded.
    string replace -r -- '^~/' "$HOME/" $values[-1]
    return 0
end

# True when the options on the command line select XML-RPC.
function __supervicectl_xmlrpc
    set -l server (__supervicectl_option -s)
    if test -n "$server"
        string match -qr -- '^(unix|http)://' $server
    else
        set -l config (__supervicectl_option -c)
        test -n "$config"
    end
end

# Process names, one per line.
function __supervicectl_names
    set -l conn
    for option in -c -s -u -p
        set -l value (__supervicectl_option $option)
        and set -a conn $option $value
    end
    set -l query status
    __supervicectl_xmlrpc; and set query avail
    set -l lines (command supervicectl $conn --timeout 2 $query 2>/dev/null </dev/null)
    or return 0
    # supervicectl status has two header lines: NAME ... and dashes.
    if string match -q -- 'NAME*' $lines[1]
        set -e lines[1..2]
    end
    string trim -l -- $lines | string replace -r -- '\s.*' '' | string match -v -- ''
end

# Process names, GROUP:* for every group that names show, and all.
function __supervicectl_specs
    set -l names (__supervicectl_names)
    test (count $names) -gt 0; and printf '%s\tProcess\n' $names
    for group in (string match -- '*:*' $names | string replace -r -- ':.*' '' | sort -u)
        printf '%s:*\tEvery process of %s\n' $group $group
    end
    printf 'all\tEvery process\n'
end

# Group names: the names before their ':'.
function __supervicectl_groups
    __supervicectl_names | string replace -r -- ':.*' '' | sort -u
end

# Signal names, HUP or, when SIG is typed, SIGHUP.
function __supervicectl_signals
    set -l signals HUP INT QUIT KILL USR1 USR2 TERM ALRM CHLD CONT STOP TSTP TTIN TTOU WINCH
    if string match -q -- 'SIG*' (commandline -ct)
        printf 'SIG%s\n' $signals
    else
        printf '%s\n' $signals
    end
end

# The -s server: unix:// and a path, http://, or a socket path. (Not -F: fish
# would complete the part after a ':' of unix:// and http:// as a path.)
function __supervicectl_servers
    set -l token (commandline -ct)
    if string match -q -- 'unix://*' $token
        printf 'unix://%s\n' (__fish_complete_path (string sub -s 8 -- $token))
    else if not string match -q -- 'http://*' $token
        printf '%s\tXML-RPC\n' unix:// http://
        __fish_complete_path $token
    end
end

# True when no command has been given yet.
function __supervicectl_needs_command
    test (count (__supervicectl_args)) -eq 0
end

# True when the command is one of $argv.
function __supervicectl_command_is
    set -l args (__supervicectl_args)
    test (count $args) -ge 1; and contains -- $args[1] $argv
end

# True when the command is one of $argv[2..] and it has $argv[1] words after it.
function __supervicectl_nargs_is
    set -l args (__supervicectl_args)
    test (count $args) -eq (math $argv[1] + 1); and contains -- $args[1] $argv[2..-1]
end

# True when tail has $argv[1] words after it other than its -f or -BYTES.
function __supervicectl_tail_position
    set -l args (__supervicectl_args)
    test (count $args) -ge 1; and test $args[1] = tail; or return 1
    set -e args[1]
    string match -q -- '-*' $args[1]; and set -e args[1]
    test (count $args) -eq $argv[1]
end

complete -c supervicectl -f

complete -c supervicectl -n __supervicectl_needs_command -s c -r -F -d 'supervisord configuration to read the server and credentials from'
complete -c supervicectl -n __supervicectl_needs_command -s s -x -a '(__supervicectl_servers)' -d 'Server: unix:///PATH, http://HOST[:PORT] or a socket path'
complete -c supervicectl -n __supervicectl_needs_command -s u -x -d 'User name for HTTP basic authentication'
complete -c supervicectl -n __supervicectl_needs_command -s p -x -d 'Password for HTTP basic authentication'
complete -c supervicectl -n __supervicectl_needs_command -l timeout -x -d 'Give up on the whole command after this many seconds'
complete -c supervicectl -n __supervicectl_needs_command -l json -d 'Print JSON instead of text'
complete -c supervicectl -n __supervicectl_needs_command -l version -d 'Print the version and exit'
complete -c supervicectl -n __supervicectl_needs_command -s h -l help -d 'Print the help and exit'

set -l __supervicectl_commands \
    status 'Show the state of processes' \
    start 'Start processes' \
    stop 'Stop processes' \
    restart 'Stop then start processes' \
    signal 'Send a signal to processes' \
    pid 'Print the pid of the daemon or of processes' \
    tail 'Print the end of a process log, or follow it' \
    maintail 'Print the end of the daemon log, or follow it' \
    clear 'Truncate the log files of processes' \
    reread 'Re-read the configuration and report what changed' \
    update 'Re-read the configuration and apply it' \
    add 'Add groups that reread reported available' \
    remove 'Remove stopped groups' \
    avail 'List every configured process' \
    shutdown 'Make the daemon stop everything and exit' \
    reload 'Restart the daemon (XML-RPC) or re-read its configuration (Supervice)' \
    version 'Print the version of the daemon' \
    fg 'Follow a process and send it what is typed' \
    open 'Talk to another server (XML-RPC)' \
    help 'List the commands or describe one' \
    startgroup 'Start every instance of a group (Supervice protocol)' \
    stopgroup 'Stop every instance of a group (Supervice protocol)'
set -l i
for i in (seq 1 2 (count $__supervicectl_commands))
    set -l name $__supervicectl_commands[$i]
    set -l description $__supervicectl_commands[(math $i + 1)]
    complete -c supervicectl -n __supervicectl_needs_command -a $name -d $description
    complete -c supervicectl -n '__supervicectl_nargs_is 0 help' -a $name -d $description
end

complete -c supervicectl -n '__supervicectl_command_is status start stop restart' -a '(__supervicectl_specs)'
complete -c supervicectl -n '__supervicectl_command_is restart; and not __supervicectl_xmlrpc' -l force -d 'Send SIGKILL at once instead of the stop signal'
complete -c supervicectl -n '__supervicectl_nargs_is 0 signal' -a '(__supervicectl_signals)' -d Signal
complete -c supervicectl -n '__supervicectl_command_is signal; and not __supervicectl_nargs_is 0 signal' -a '(__supervicectl_specs)'
complete -c supervicectl -n '__supervicectl_command_is pid clear' -a '(__supervicectl_names)' -d Process
complete -c supervicectl -n '__supervicectl_command_is pid clear' -a all -d 'Every process'
complete -c supervicectl -n '__supervicectl_nargs_is 0 tail maintail' -s f -d 'Follow the log until interrupted'
complete -c supervicectl -n '__supervicectl_tail_position 0' -a '(__supervicectl_names)' -d Process
complete -c supervicectl -n '__supervicectl_nargs_is 0 fg' -a '(__supervicectl_names)' -d Process
complete -c supervicectl -n '__supervicectl_tail_position 1' -a 'stdout stderr' -d Channel
complete -c supervicectl -n '__supervicectl_command_is add remove update' -a '(__supervicectl_groups)' -d Group
complete -c supervicectl -n '__supervicectl_command_is update' -a all -d 'Every group'
complete -c supervicectl -n '__supervicectl_nargs_is 0 startgroup stopgroup' -a '(__supervicectl_groups)' -d Group
