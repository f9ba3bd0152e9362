/// `nn check FILE...`: parse, resolve and shape-check programs without reading any data.
module Nn.Cli.Commands.Check

open Nn.Cli
open Nn.Compiler

let help =
    """Usage: nn check FILE...

Parses, resolves names and checks the shapes of every network and every train block's settings (each value's
range, a computed `target`, the loss and the metrics against the network's output), without reading data.
Prints each error as `file(line,col): error NNxxxx: message` with the source line and carets under the part
that is wrong.

Exit codes: 0 all files are valid, 1 a file has errors.

Example:
  nn check examples/xor.nn examples/mnist_mlp.nn"""

let run (files: string list) =
    let mutable failed = false
    for f in files do
        match Compile.compileFile f with
        | Ok c ->
            let nets = c.Networks |> List.map (fun n -> n.Decl.Name) |> String.concat ", "
            printfn "%s: ok (%d network%s%s)" f c.Networks.Length (if c.Networks.Length = 1 then "" else "s") (if nets = "" then "" else ": " + nets)
        | Error ds ->
            failed <- true
            Output.report (Some f) (Output.sourcesFrom Map.empty) ds
    if failed then 1 else 0

let command: Command =
    { Name = "check"
      Summary = "check programs (syntax, names, shapes) without reading data"
      Help = help
      Run =
        fun args ->
            Common.guarded (fun () ->
                match (Common.parseArgs "check" [] args).Positional with
                | [] -> Command.usageError "`nn check` needs at least one FILE"
                | files -> run files) }
