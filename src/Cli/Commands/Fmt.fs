/// `nn fmt FILE... [--check]`: rewrite programs in the canonical layout.
module internal Nn.Cli.Commands.Fmt

open System.IO
open Nn.Dsl
open Nn.Cli

let help =
    """Usage: nn fmt FILE... [--check] [--diff]

Rewrites each file in the canonical layout (4-space indentation, one declaration per paragraph,
one train field per line). Numbers keep their spelling (`1e-2`, `0.50`) and trailing comments that
stand in one column on neighbouring lines stay in one column. The file is replaced atomically;
a file that does not parse is left alone.
  --check   only report the files whose layout differs (exit 1 if any), change nothing
  --diff    print the changes as a unified diff on stdout (exit 1 if any), change nothing;
            the diff applies with `patch -p0` or `git apply -p0`

Exit codes: 0 ok, 1 a file has errors or (with --check or --diff) is not formatted.

Examples:
  nn fmt examples/xor.nn
  nn fmt examples/*.nn --check
  nn fmt examples/iris.nn --diff"""

let run (files: string list) (checkOnly: bool) (diff: bool) =
    let mutable code = 0
    // With --diff, stdout holds only the diff (so it can go straight to `patch`); the rest goes to stderr.
    let status fmt = Printf.kprintf (fun s -> if diff then eprintfn "%s" s else printfn "%s" s) fmt
    for f in files do
        match Nn.Compiler.Compile.diskReader (Path.GetFullPath f) with
        | Result.Error d ->
            Output.report None (Output.sourcesFrom Map.empty) [ d ]
            code <- 1
        | Result.Ok text ->
            match Printer.formatSource (Path.GetFullPath f) text with
            | Result.Error ds ->
                Output.report None (fun _ -> Some text) ds
                code <- 1
            | Result.Ok formatted ->
                if formatted = text then status "%s: already formatted" f
                elif diff then
                    printf "%s" (Nn.Dsl.Format.UnifiedDiff.diff f f text formatted)
                    status "%s: would be reformatted" f
                    code <- 1
                elif checkOnly then
                    status "%s: would be reformatted" f
                    code <- 1
                else
                    Nn.Runtime.Data.AtomicFile.WriteAllText(f, formatted)
                    status "%s: formatted" f
    code

let private spec = [ "--check", Common.Switch; "--diff", Common.Switch ]

let command: Command =
    { Name = "fmt"
      Summary = "rewrite programs in the canonical layout (--check: only report; --diff: show the changes)"
      Help = help
      Run =
        fun args ->
            Common.guarded (fun () ->
                let a = Common.parseArgs "fmt" spec args
                if a.Positional.IsEmpty then Command.usageError "`nn fmt` needs at least one FILE"
                else run a.Positional (a.Has "--check") (a.Has "--diff")) }
