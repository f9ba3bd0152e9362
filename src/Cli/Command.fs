/// What every `nn` command provides; Program.fs lists them.
namespace Nn.Cli

type internal Command =
    { /// the verb: `nn NAME ...`
      Name: string
      /// one line for `nn --help`
      Summary: string
      /// the text of `nn NAME --help`, with examples
      Help: string
      /// runs with the arguments after the verb; returns the exit code (0 ok, 1 user error)
      Run: string list -> int }

module internal Command =
    /// Report a command-line mistake (exit code 1).
    let usageError (message: string) =
        eprintfn "nn: %s" message
        eprintfn "Run `nn --help` for the commands."
        1
