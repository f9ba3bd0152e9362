/// `nn check FILE...`: parse, resolve and shape-check programs without reading any data.
module internal Nn.Cli.Commands.Check

open Nn.Cli
open Nn.Compiler

let help =
    """Usage: nn check FILE...

Parses, resolves names and checks the shapes of every network and every train block's settings (each value's
range, a computed `target`, the loss and the metrics against the network's output), without reading data.
Prints each error as `file(line,col): error NNxxxx: message` with the source line and carets under the part
that is wrong, and each warning (legal, but probably a mistake: a parameter nothing uses, a softmax before
softmaxCrossEntropy) the same way as `warning NNxxxx`.

Exit codes: 0 all files are valid (warnings allowed), 1 a file has errors.

Example:
  nn check examples/xor.nn examples/mnist_mlp.nn"""

/// A warning (NN0630) for each train block whose planned run needs more memory than the machine has.
let private memoryWarnings (c: Compile.Compiled) =
    for (td, env) in c.Trains do
        match c.Networks |> List.tryFind (fun n -> n.Decl.Name = td.Network) with
        | Some net ->
            let warning =
                try
                    let cfg = TrainPlan.config c (td, env)
                    let limit = MemoryPlan.limit None
                    let nodes = (Compile.forward net (Nn.Runtime.IR.GraphBuilder()) true).Context.Builder.Nodes
                    // plan the whole step only when the quick bound is a sizeable part of the limit
                    if MemoryPlan.lowerBound nodes cfg.Batch < limit / 4L then None
                    else
                        let e = MemoryPlan.estimate (Checkpoint.graphsFor c (Some(td, env)) net) cfg.Batch
                        MemoryPlan.check e limit Nn.Dsl.Severity.Warning cfg.Span
                with _ -> None // a step that cannot be built is reported by training, with its own diagnostic
            warning |> Option.iter (fun d -> Output.diagnostics (Output.sourcesFrom Map.empty) [ d ])
        | None -> ()

let run (files: string list) =
    let mutable failed = false
    for f in files do
        match Compile.compileFile f with
        | Ok c ->
            Output.diagnostics (Output.sourcesFrom c.Sources) c.Warnings
            memoryWarnings c
            let nets = c.Networks |> List.map (fun n -> n.Decl.Name) |> String.concat ", "
            let warned = match c.Warnings.Length with 0 -> "" | 1 -> "; 1 warning" | k -> sprintf "; %d warnings" k
            printfn "%s: ok (%d network%s%s%s)" f c.Networks.Length (if c.Networks.Length = 1 then "" else "s")
                (if nets = "" then "" else ": " + nets) warned
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
