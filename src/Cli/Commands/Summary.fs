/// `nn summary FILE [--network NAME]`: a table like Keras' `summary()`.
module Nn.Cli.Commands.Summary

open System
open Nn.Runtime.IR
open Nn.Compiler
open Nn.Cli

let help =
    """Usage: nn summary FILE [--network NAME]

Prints, for each network of FILE (or only NAME): every layer call with its output shape and parameter count,
every parameter path with its shape and count, and the totals with the memory they take as float32.

Exit codes: 0 ok, 1 an error in the program or no such network.

Example:
  nn summary examples/mnist_mlp.nn"""

let private count (s: Shape) = s.FixedCount

let private thousands (n: int64) = n.ToString("N0", Globalization.CultureInfo.InvariantCulture)

let private bytes (n: int64) =
    if n >= (1L <<< 20) then sprintf "%.2f MiB" (float n / 1048576.0)
    elif n >= (1L <<< 10) then sprintf "%.1f KiB" (float n / 1024.0)
    else sprintf "%d B" n

/// Rows of a left-aligned table with a header and a rule.
let table (header: string list) (rows: string list list) =
    let widths =
        header |> List.mapi (fun i h -> (h :: (rows |> List.map (fun r -> r[i]))) |> List.map String.length |> List.max)
    let line cells = (cells, widths) ||> List.map2 (fun (c: string) w -> c.PadRight w) |> String.concat "  "
    [ yield line header
      yield widths |> List.map (fun w -> String('-', w)) |> String.concat "  "
      for r in rows -> line r ]
    |> List.map (fun l -> l.TrimEnd())

/// The memory of the fused training step for one batch: pooled intermediate buffers, and the optimizer's state.
let private stepMemory (c: Compile.Compiled) (net: Compile.NetworkInfo) =
    match Checkpoint.blockFor c net.Decl.Name false with
    | None -> None
    | Some block ->
        try
            let cfg = TrainPlan.config c block
            let graphs = Checkpoint.graphsFor c (Some block) net
            let plan = Nn.Runtime.Engine.Planning.Planner.Build(Nn.Runtime.Rewrite.Passes.Optimize graphs.Train)
            let bindings = Collections.Generic.Dictionary<string, int>()
            for n in plan.Graph.Nodes do
                for s in n.Shape.Symbols do bindings[s] <- cfg.Batch
            let counts = plan.Graph.Nodes |> Seq.map (fun n -> n.Shape.Count bindings) |> Array.ofSeq
            let buffers = Nn.Runtime.Engine.Memory.BufferAssigner.Assign(plan, counts).TotalFloats * 4L
            let paramNames = graphs.Params |> Seq.map (fun p -> p.Name) |> Set.ofSeq
            let state = graphs.States |> Seq.filter (fun s -> not (paramNames.Contains s.Name)) |> Seq.sumBy (fun s -> s.Shape.FixedCount) |> (*) 4L
            Some(cfg.Batch, buffers, state)
        with _ -> None

let describe (c: Compile.Compiled) (net: Compile.NetworkInfo) =
    let fwd = Compile.forward net (GraphBuilder()) false
    let nodes = fwd.Context.Builder.Nodes
    let parameters = nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> List.ofSeq
    let states = nodes |> Seq.filter (fun n -> n.Op = OpKind.State) |> List.ofSeq
    let under (path: string) (n: Node) = n.Name.StartsWith(path + ".", StringComparison.Ordinal)
    let inputs = fwd.Inputs |> List.map (fun (name, n) -> sprintf "%s: %O" name n.Shape) |> String.concat ", "
    let out = Text.StringBuilder()
    let add (s: string) = out.AppendLine s |> ignore
    add (sprintf "network %s (%s) -> %O" net.Decl.Name inputs fwd.Output.Shape)
    add ""
    let calls = fwd.Context.Calls |> Seq.distinctBy fst |> List.ofSeq
    if not calls.IsEmpty then
        let rows =
            calls |> List.map (fun (path, n) ->
                let ps = parameters |> List.filter (under path) |> List.sumBy (fun p -> count p.Shape)
                [ path; string n.Shape; thousands ps ])
        table [ "layer call"; "output shape"; "parameters" ] rows |> List.iter add
        add ""
    let rows = parameters |> List.map (fun p -> [ p.Name; string p.Shape; thousands (count p.Shape); string p.Attrs.Init ])
    table [ "parameter"; "shape"; "count"; "init" ] rows |> List.iter add
    if not states.IsEmpty then
        add ""
        let rows = states |> List.map (fun p -> [ p.Name; string p.Shape; thousands (count p.Shape) ])
        table [ "state (not trained)"; "shape"; "count" ] rows |> List.iter add
    let total = parameters |> List.sumBy (fun p -> count p.Shape)
    let stateTotal = states |> List.sumBy (fun p -> count p.Shape)
    add ""
    add (sprintf "total parameters: %s (%s as float32)" (thousands total) (bytes (total * 4L)))
    if stateTotal > 0L then add (sprintf "total state: %s (%s)" (thousands stateTotal) (bytes (stateTotal * 4L)))
    match stepMemory c net with
    | Some(batch, buffers, state) ->
        add (sprintf "training step (batch %d, fused engine): %s of buffers, %s of optimizer and layer state" batch (bytes buffers) (bytes state))
    | None -> ()
    out.ToString()

let run (file: string) (network: string option) =
    match Compile.compileFile file with
    | Error ds ->
        Output.report None (Output.sourcesFrom Map.empty) ds
        1
    | Ok c ->
        let nets =
            match network with
            | Some n -> c.Networks |> List.filter (fun x -> x.Decl.Name = n)
            | None -> c.Networks
        if nets.IsEmpty then
            eprintfn "nn: %s has no network%s" file (match network with Some n -> sprintf " named `%s`" n | None -> "")
            1
        else
            nets |> List.iteri (fun i n -> (if i > 0 then printfn ""); printf "%s" (describe c n))
            0

let command: Command =
    { Name = "summary"
      Summary = "parameters, shapes and sizes of each network (like Keras' summary)"
      Help = help
      Run =
        fun args ->
            Common.guarded (fun () ->
                let a = Common.parseArgs "summary" [ "--network", Common.Value ] args
                run (Common.fileArg "summary" a) (a.Get "--network")) }
