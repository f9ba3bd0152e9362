/// `nn graph FILE`: print a network's computation graph (forward, with gradients, or the whole training step).
module internal Nn.Cli.Commands.Graph

open System.Collections.Generic
open Nn.Runtime.IR
open Nn.Runtime.Rewrite
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

let help =
    """Usage: nn graph FILE [--network NAME] [--step forward|backward|train] [--optimized] [--format text|dot] [--plan]
                [--pipeline K]

Prints the computation graph of a network, one node per line: `%id : shape = op operands attributes  # file(line,col)`,
then its outputs. No data is read.
  --network NAME   the network (default: the one of the first train block, or the only one)
  --step forward   the forward pass in evaluation mode, output `output` (the default)
  --step backward  the training-mode forward pass, the train block's loss and the gradient of every parameter
                   (outputs `loss` and `grad:<parameter>`)
  --step train     the whole training step: forward, loss, backward, clipping, the optimizer's update
  --plan           instead of the nodes, the fused engine's plan: its kernels (fused loops, GEMMs with their
                   transposes and epilogues, other kernels) in execution order
  --pipeline K     with --step train: where `nn train --pipeline K` cuts the training step, each stage's cost,
                   layers, lines and the activations it receives and sends (node ids of `--step forward`, in
                   training mode); with --plan also each stage's kernels
  --optimized      after constant folding, simplification and dead-node removal; prints the node counts before/after
  --format dot     a Graphviz digraph (render with `dot -Tsvg`) instead of text

Exit codes: 0 ok, 1 an error in the program or the command line, 2 internal.

Examples:
  nn graph examples/xor.nn
  nn graph examples/xor.nn --step backward --optimized
  nn graph examples/mnist_mlp.nn --step train --plan       # the fused kernels of the training step
  nn graph examples/mnist_mlp.nn --step train --plan --pipeline 2   # the two stages of a pipeline
  nn graph examples/lenet.nn --format dot | dot -Tsvg > lenet.svg"""

let private spec =
    [ "--network", Value; "--step", Value; "--optimized", Switch; "--format", Value; "--plan", Switch;
      "--pipeline", Value ]

let run (a: Args) =
    let file = fileArg "graph" a
    let step = a.Choice "--step" [ "forward"; "backward"; "train" ] |> Option.defaultValue "forward"
    let format = a.Choice "--format" [ "text"; "dot" ] |> Option.defaultValue "text"
    let c = compile file
    let net = network c (a.Get "--network")
    let block () =
        match Checkpoint.blockFor c net.Decl.Name true with
        | Some b -> b
        | None -> fail (sprintf "--step %s needs a train block (for the loss), but %s has none" step file)
    let graph =
        match step with
        | "forward" ->
            let b = GraphBuilder()
            let fwd = Compile.forward net b false
            b.Build [ KeyValuePair("output", fwd.Output) ]
        | "backward" -> (Gradients.graph net (Checkpoint.graphsFor c (Some(block ())) net).Spec).Graph
        | _ -> (Checkpoint.graphsFor c (Some(block ())) net).Train
    let comment = if format = "dot" then "//" else "#"
    match pipelineOf a with
    | Some(stages, _) ->
        if step <> "train" then
            raise (Nn.Runtime.NnRuntimeException(Nn.Runtime.Distributed.PipelineCodes.Combination,
                                                 Nn.Runtime.SourceSpan.None,
                                                 "--pipeline shows the cut of the training step: give --step train"))
        let graphs = Checkpoint.graphsFor c (Some(block ())) net
        let pipeline = Nn.Runtime.Distributed.PipelineGraphs.Build(graphs, stages, net.Decl.Name)
        printf "%s" (Nn.Runtime.Distributed.PipelineText.Cut(pipeline, net.Decl.Name, c.File, a.Has "--plan"))
        0
    | None ->
    if a.Has "--plan" then
        // the fused engine's kernels for this graph (after the rewrite passes)
        printfn "# plan of the %s graph of `%s`" step net.Decl.Name
        printf "%s" (Nn.Runtime.Engine.GraphRunner.PlanText graph)
        0
    else
    let shown =
        if a.Has "--optimized" then
            let mutable report = Unchecked.defaultof<OptimizeReport>
            let g = Passes.Optimize(graph, &report)
            printfn "%s %s graph of `%s`, optimized: %O" comment step net.Decl.Name report
            g
        else
            printfn "%s %s graph of `%s`: %d nodes" comment step net.Decl.Name graph.Nodes.Count
            graph
    printf "%s" (if format = "dot" then GraphPrinter.Dot shown else GraphPrinter.Text shown)
    0

let command: Command =
    { Name = "graph"
      Summary = "print a network's computation graph (forward, backward or training step; text or dot)"
      Help = help
      Run = fun args -> guarded (fun () -> run (parseArgs "graph" spec args)) }
