namespace OverlayCtl.Cli.Completion;

/// <summary>
/// The scripts <c>overlayctl completion SHELL</c> prints. Each only hands the words typed so far to the hidden
/// <c>overlayctl __complete -- WORDS</c> (<see cref="Completer"/>) and offers its answer, or file names when the answer
/// is <see cref="Completer.Files"/>: the commands, flags and host names come from the binary, never from a list here.
/// </summary>
internal static class CompletionScripts
{
    public static readonly IReadOnlyList<string> Shells = ["bash", "zsh", "fish"];

    public static string For(string shell) => shell switch
    {
        "bash" => Bash,
        "zsh" => Zsh,
        "fish" => Fish,
        _ => throw new UsageException($"no completion for the shell '{shell}' (fix: overlayctl completion {string.Join("|", Shells)})"),
    };

    private const string Bash = """
        # bash completion for overlayctl: source <(overlayctl completion bash), or install it as
        # /usr/share/bash-completion/completions/overlayctl (the .deb does).
        _overlayctl() {
            local cur=${COMP_WORDS[COMP_CWORD]}
            local IFS=$'\n'
            local -a candidates
            candidates=($(overlayctl __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
            if [[ ${candidates[0]-} == ":files" ]]; then
                compopt -o filenames 2>/dev/null || true
                COMPREPLY=($(compgen -f -- "$cur"))
            else
                COMPREPLY=("${candidates[@]}")
            fi
        }
        complete -F _overlayctl overlayctl

        """;

    private const string Zsh = """
        #compdef overlayctl
        # zsh completion for overlayctl: overlayctl completion zsh > "${fpath[1]}/_overlayctl", or source it after compinit.
        _overlayctl() {
            local -a candidates
            candidates=("${(@f)$(overlayctl __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
            candidates=(${candidates:#})
            if [[ ${candidates[1]-} == ":files" ]]; then
                _files
            else
                compadd -- "${candidates[@]}"
            fi
        }
        if [[ ${zsh_eval_context[-1]-} == loadautofunc ]]; then
            _overlayctl "$@"
        else
            compdef _overlayctl overlayctl
        fi

        """;

    private const string Fish = """
        # fish completion for overlayctl: overlayctl completion fish > ~/.config/fish/completions/overlayctl.fish
        function __overlayctl_complete
            set -l words (commandline -opc)
            set -l current (commandline -ct)
            set -l candidates (overlayctl __complete -- $words[2..-1] "$current" 2>/dev/null)
            if test "$candidates[1]" = ":files"
                __fish_complete_path "$current"
            else
                printf '%s\n' $candidates
            end
        end
        complete -c overlayctl -f -a '(__overlayctl_complete)'

        """;
}
