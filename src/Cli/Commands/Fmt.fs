/// `nn fmt FILE... [--check]`: rewrite programs in the canonical layout.
module Nn.Cli.Commands.Fmt

open System.IO
open Nn.Dsl
open Nn.Cli

let help =
    """Usage: nn fmt FILE... [--check]

Rewrites each file in the canonical layout (4-space indentation, one declaration per paragraph,
one train field per line). The file is replaced atomically; a file that does not parse is left alone.
  --check   only report the files whose layout differs (exit 1 if any), change nothing

Exit codes: 0 ok, 1 a file has errors or (with --check) is not formatted.

Examples:
  nn fmt examples/xor.nn
  nn fmt examples/*.nn --check"""

let run (files: string list) (checkOnly: bool) =
    let mutable code = 0
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
                if formatted = text then printfn "%s: already formatted" f
                elif checkOnly then
                    printfn "%s: would be reformatted" f
                    code <- 1
                else
                    Nn.Runtime.Checkpoints.AtomicFile.WriteAllText(f, formatted)
                    printfn "%s: formatted" f
    code

let command: Command =
    { Name = "fmt"
      Summary = "rewrite programs in the canonical layout (--check: only report)"
      Help = help
      Run =
        fun args ->
            Common.guarded (fun () ->
                let a = Common.parseArgs "fmt" [ "--check", Common.Switch ] args
                if a.Positional.IsEmpty then Command.usageError "`nn fmt` needs at least one FILE"
                else run a.Positional (a.Has "--check")) }
