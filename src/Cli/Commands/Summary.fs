/// `nn summary FILE [--network NAME]`: a table like Keras' `summary()`.
module internal Nn.Cli.Commands.Summary

open System
open Nn.Runtime.IR
open Nn.Compiler
open Nn.Cli

let help =
    """Usage: nn summary FILE [--network NAME] [--weights W]

Prints, for each network of FILE (or only NAME): every layer call with its output shape and parameter count,
every parameter path with its shape and count, and the totals with the memory they take as float32. With
--weights W (a run folder or a checkpoint) whose training read a CSV table with text columns or `missing`, also
the table's columns as training encoded them: each text column's vocabulary and each column's fill for empty cells.

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
/// The planned memory of training the network with its train block (None without one, or when the step cannot be
/// built, which `nn check` reports).
let private stepMemory (c: Compile.Compiled) (net: Compile.NetworkInfo) =
    match Checkpoint.blockFor c net.Decl.Name false with
    | None -> None
    | Some block ->
        try
            let cfg = TrainPlan.config c block
            Some(MemoryPlan.estimate (Checkpoint.graphsFor c (Some block) net) cfg.Batch)
        with _ -> None

/// The parameter paths the network's train block freezes (none without a block, or when its settings have an error,
/// which `nn check` reports).
let private frozen (c: Compile.Compiled) (net: Compile.NetworkInfo) (paths: string list) =
    match Checkpoint.blockFor c net.Decl.Name false with
    | None -> Set.empty
    | Some block ->
        try TransferConfig.frozen paths (TrainPlan.config c block).Freeze
        with _ -> Set.empty

let describe (c: Compile.Compiled) (net: Compile.NetworkInfo) =
    let fwd = Compile.forward net (GraphBuilder()) false
    let nodes = fwd.Context.Builder.Nodes
    let parameters = nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> List.ofSeq
    let states = nodes |> Seq.filter (fun n -> n.Op = OpKind.State) |> List.ofSeq
    // the parameter count under every scope path (`repeat1`, `repeat1.dense2`), one pass over the parameters, so
    // a network of 20,000 layer calls is summarised in linear time
    let countUnder = Collections.Generic.Dictionary<string, int64>()
    for p in parameters do
        let mutable dot = p.Name.IndexOf '.'
        while dot > 0 do
            let prefix = p.Name.Substring(0, dot)
            countUnder[prefix] <- (match countUnder.TryGetValue prefix with | true, c -> c | _ -> 0L) + count p.Shape
            dot <- p.Name.IndexOf('.', dot + 1)
    let inputs = fwd.Inputs |> List.map (fun (name, n) -> sprintf "%s: %O" name n.Shape) |> String.concat ", "
    let out = Text.StringBuilder()
    let add (s: string) = out.AppendLine s |> ignore
    add (sprintf "network %s (%s) -> %O" net.Decl.Name inputs fwd.Output.Shape)
    add ""
    let calls = fwd.Context.Calls |> Seq.distinctBy fst |> List.ofSeq
    if not calls.IsEmpty then
        let rows =
            calls |> List.map (fun (path, n) ->
                let ps = match countUnder.TryGetValue path with | true, c -> c | _ -> 0L
                [ path; string n.Shape; thousands ps ])
        table [ "layer call"; "output shape"; "parameters" ] rows |> List.iter add
        add ""
    let frozen = frozen c net (parameters |> List.map (fun p -> p.Name))
    // the column `trainable` appears when the train block freezes something
    let trainable (p: Node) =
        if frozen.IsEmpty then [] elif frozen.Contains p.Name then [ "no (frozen)" ] else [ "yes" ]
    let rows =
        parameters |> List.map (fun p ->
            [ p.Name; string p.Shape; thousands (count p.Shape); string p.Attrs.Init ] @ trainable p)
    let header = [ "parameter"; "shape"; "count"; "init" ] @ (if frozen.IsEmpty then [] else [ "trainable" ])
    table header rows |> List.iter add
    if not states.IsEmpty then
        add ""
        let rows = states |> List.map (fun p -> [ p.Name; string p.Shape; thousands (count p.Shape) ])
        table [ "state (not trained)"; "shape"; "count" ] rows |> List.iter add
    let total = parameters |> List.sumBy (fun p -> count p.Shape)
    let stateTotal = states |> List.sumBy (fun p -> count p.Shape)
    add ""
    add (sprintf "total parameters: %s (%s as float32)" (thousands total) (bytes (total * 4L)))
    // Keras' "Trainable params" and "Non-trainable params": `freeze` decides, states are counted apart
    let fixedCount = parameters |> List.filter (fun p -> frozen.Contains p.Name) |> List.sumBy (fun p -> count p.Shape)
    add (sprintf "trainable parameters: %s" (thousands (total - fixedCount)))
    add (sprintf "non-trainable parameters: %s%s"
             (thousands fixedCount) (if fixedCount > 0L then " (frozen by `freeze`)" else ""))
    if stateTotal > 0L then add (sprintf "total state: %s (%s)" (thousands stateTotal) (bytes (stateTotal * 4L)))
    match stepMemory c net with
    | Some e ->
        let b = MemoryPlan.bytes
        add (sprintf "planned memory of training (batch %d): %s" e.Batch (b e.TotalBytes))
        add (sprintf "  parameters and states with their initial values %s, training step %s, evaluation step %s"
                 (b e.ValueBytes) (b e.TrainBytes) (b e.EvalBytes))
    | None -> ()
    out.ToString()

/// The columns of the training table as the weights keep them (`nn summary --weights`), or nothing.
let private tableOf (weights: string option) =
    match weights |> Option.bind Checkpoint.table with
    | None -> ""
    | Some t ->
        let rows = [ for (c, k, w, v) in t.Describe() -> [ c; k; w; v ] ]
        let lines = table [ "table column"; "kind"; "inputs"; "vocabulary (in input order) or fill" ] rows
        sprintf "\n%s\ninputs from the table: %d\n" (String.concat "\n" lines) t.Width

let run (file: string) (network: string option) (weights: string option) =
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
            printf "%s" (tableOf weights)
            0

let command: Command =
    { Name = "summary"
      Summary = "parameters, shapes and sizes of each network (like Keras' summary)"
      Help = help
      Run =
        fun args ->
            Common.guarded (fun () ->
                let a = Common.parseArgs "summary" [ "--network", Common.Value; "--weights", Common.Value ] args
                run (Common.fileArg "summary" a) (a.Get "--network") (a.Get "--weights")) }
