# fish completion for supervicectl(1)
#
# Install as ~/.config/fish/completions/supervicectl.fish, or in the
# vendor_completions.d directory that "pkg-config --variable
# completionsdir fish" names.
#
# Instance names come from "supervicectl status" (first column, after the two
# header lines), asked of the socket given earlier on the command line with
# -s/--socket, else of the default one. The daemon does not list its groups,
# so startgroup/stopgroup offer the program names (instance names without
# their :NN suffix) as a best effort: they are right for programs in no
# [group:*] section.

# The words after "supervicectl" that are neither options nor option values:
# the command, then its name.
function __supervicectl_args
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for token in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $token
            case -s --socket --timeout
                set skip 1
            case '-*'
            case '*'
                echo -- $token
        end
    end
end

# The -s option for the socket named on the command line so far, if any.
function __supervicectl_socket
    set -l tokens (commandline -opc)
    set -l socket
    set -l count (count $tokens)
    for i in (seq 2 $count)
        switch $tokens[$i]
            case -s --socket
                if test $i -lt $count
                    set socket $tokens[(math $i + 1)]
                end
            case '--socket=*'
                set socket (string replace -- --socket= '' $tokens[$i])
            case '-s?*'
                set socket (string sub -s 3 -- $tokens[$i])
        end
    end
    if test -n "$socket"
        echo -- -s
        # The line being completed has not been expanded.
        string replace -r -- '^~/' "$HOME/" $socket
    end
end

function __supervicectl_instances
    supervicectl (__supervicectl_socket) --timeout 2 status 2>/dev/null | tail -n +3 | string replace -r '\s.*' ''
end

function __supervicectl_groups
    __supervicectl_instances | string replace -r ':[0-9]+$' '' | sort -u
end

# True when no command has been given yet.
function __supervicectl_needs_command
    test (count (__supervicectl_args)) -eq 0
end

# True when the command is one of the arguments and it has no name yet.
function __supervicectl_needs_name
    set -l args (__supervicectl_args)
    test (count $args) -eq 1; and contains -- $args[1] $argv
end

function __supervicectl_command_is
    set -l args (__supervicectl_args)
    test (count $args) -ge 1; and contains -- $args[1] $argv
end

complete -c supervicectl -f

complete -c supervicectl -s s -l socket -r -F -d 'Control socket of the daemon'
complete -c supervicectl -l timeout -x -d 'Give up after this many seconds'
complete -c supervicectl -l version -d 'Print the version and exit'
complete -c supervicectl -s h -l help -d 'Print the help and exit'

complete -c supervicectl -n __supervicectl_needs_command -a status -d 'Show the state of every instance'
complete -c supervicectl -n __supervicectl_needs_command -a start -d 'Start an instance and wait until it is RUNNING'
complete -c supervicectl -n __supervicectl_needs_command -a stop -d 'Stop an instance and wait until it is down'
complete -c supervicectl -n __supervicectl_needs_command -a restart -d 'Stop then start an instance'
complete -c supervicectl -n __supervicectl_needs_command -a startgroup -d 'Start every instance of a group'
complete -c supervicectl -n __supervicectl_needs_command -a stopgroup -d 'Stop every instance of a group'
complete -c supervicectl -n __supervicectl_needs_command -a reload -d 'Re-read the configuration file'

complete -c supervicectl -n '__supervicectl_command_is status' -l json -d 'Print the reply of the daemon as JSON'
complete -c supervicectl -n '__supervicectl_command_is restart' -l force -d 'Send SIGKILL instead of the stop signal'

complete -c supervicectl -n '__supervicectl_needs_name start stop restart' -a '(__supervicectl_instances)' -d Instance
complete -c supervicectl -n '__supervicectl_needs_name startgroup stopgroup' -a '(__supervicectl_groups)' -d Group
