/// One batch's gradients of a train block's loss with respect to every parameter: the numbers behind a
/// vanishing- or exploding-gradient diagnosis (`nn grad`).
module internal Nn.Compiler.Gradients

open System.Collections.Generic
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Execution
open Nn.Runtime.Autodiff
open Nn.Runtime.Ops
open Nn.Runtime.Training
open Nn.Compiler.Compile

/// One parameter's gradient and the norms that compare it with the parameter.
type ParamGradient =
    { Name: string
      Shape: int[]
      Gradient: HostTensor
      /// Euclidean norm of the gradient
      GradNorm: float
      /// Euclidean norm of the parameter's value
      ValueNorm: float }

/// The gradient of the loss with respect to a sequence input [n, t, f] of the network, step by step: how much each
/// time step of the input moves the loss (the gradient through time, which vanishes in a plain RNN).
type StepGradients =
    { /// the input's name, as the network declares it
      Input: string
      /// the input's shape as the network declares it (such as `[n, 50, 2]`)
      Shape: string
      /// the Euclidean norm of the gradient at each step (over the rows and features), the first step first
      Norms: float list }

/// The loss of the batch (before any update), the gradient of every parameter, in order of creation, and of every
/// sequence input (an input of three axes [n, t, f]) per step.
type Report = { Loss: float; Rows: int; Params: ParamGradient list; Steps: StepGradients list }

let private norm (xs: float32[]) = sqrt (xs |> Array.sumBy (fun x -> float x * float x))

/// The graph of a network's loss (as a train block defines it) and its gradients: outputs `loss` and
/// `grad:<parameter>` for every parameter, in training mode.
type GradientGraph =
    { Graph: Graph
      /// the network's data inputs, in order
      Inputs: string list
      /// the target node (an Input fed as `target`, or computed from the input)
      Target: Node
      Params: Node[]
      /// the sequence inputs (three axes [n, t, f], t fixed) whose gradients are the outputs `grad-input:<name>`
      Sequences: (string * Node) list }

/// An input whose gradient per step `nn grad` reports: three axes [n, t, f], t fixed and above 1, and a graph that
/// takes t steps apart (a slice of one step of some [n, t, ..], as `unstack 1`, `lastStep` and the recurrent layers
/// make), so that an image [n, h, w] read as a whole is not taken for a sequence.
let private isSequence (nodes: IReadOnlyList<Node>) (input: Node) =
    let steps (x: Node) = if x.Shape.Rank = 3 && x.Shape.Dims[1].IsFixed then x.Shape.Dims[1].Size else 0
    let t = steps input
    t > 1
    && nodes |> Seq.exists (fun n -> n.Op = OpKind.Slice && steps n.Inputs[0] = t && n.Shape.Dims[1].IsOne)

/// The loss-and-gradients graph of `net` with the loss of `spec` (the train block's); with `steps`, also the
/// gradients with respect to its sequence inputs.
let private build (steps: bool) (net: NetworkInfo) (spec: TrainSpec) : GradientGraph =
    let b = GraphBuilder()
    let fc = ForwardContext(b, true)
    let fwd = forwardIn net fc
    let out = fwd.Output
    let target =
        if isNull spec.Target then
            b.Input(
                TrainStep.TargetInput, (if isNull spec.TargetShape then out.Shape else spec.TargetShape), spec.LossSpan
            )
        else spec.Target.Invoke fc
    let loss = spec.Loss.Build(b, out, target, spec.LossSpan, spec.HuberDelta)
    let parameters = b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> Array.ofSeq
    let sequences = if steps then fwd.Inputs |> List.filter (snd >> isSequence b.Nodes) else []
    let grads = Backward.Gradients(b, loss, Array.append parameters (sequences |> List.map snd |> Array.ofList))
    let outputs =
        KeyValuePair("loss", loss)
        :: [ for p, g in Array.zip parameters grads[.. parameters.Length - 1] -> KeyValuePair("grad:" + p.Name, g) ]
        @ [ for (name, _), g in List.zip sequences (List.ofArray grads[parameters.Length ..]) ->
                KeyValuePair("grad-input:" + name, g) ]
    { Graph = b.Build outputs
      Inputs = List.map fst fwd.Inputs
      Target = target
      Params = parameters
      Sequences = sequences }

/// The loss-and-gradients graph of `net` with the loss of `spec` (the train block's): outputs `loss` and
/// `grad:<parameter>` for every parameter (`nn graph --step backward`).
let graph (net: NetworkInfo) (spec: TrainSpec) : GradientGraph = build false net spec

/// The norm of a gradient [n, t, f] at each step t, over the rows and features, in float64.
let stepNorms (shape: int[]) (g: float32[]) : float list =
    let n, t, f = shape[0], shape[1], shape[2]
    [ for s in 0 .. t - 1 ->
          let mutable sum = 0.0
          for r in 0 .. n - 1 do
              for k in 0 .. f - 1 do
                  let v = float g[(r * t + s) * f + k]
                  sum <- sum + v * v
          sqrt sum ]

/// The gradients of the data loss (no regularization, no clipping) on the first `rows` training rows of `plan`,
/// in training mode (batch statistics, dropout with the run's seed), at `values` (Params and States).
let compute (plan: TrainPlan.Plan) (values: IReadOnlyDictionary<string, HostTensor>) (rows: int) : Report =
    let spec = plan.Graphs.Spec
    let gg = build true plan.Network spec
    let target = gg.Target
    let parameters = gg.Params
    let batch = plan.Train.Rows(0, min rows plan.Train.Count)
    let feeds = Dictionary<string, Tensor<float32>>()
    for KeyValue(k, v) in values do feeds[k] <- Tensor<float32>(v.Shape, v.Data)
    for name, x in Seq.zip gg.Inputs batch.Inputs do feeds[name] <- Tensor<float32>(x.Shape, x.Data)
    if isNull spec.Target && not (isNull batch.Targets) then
        let t = batch.Targets
        let dims = target.Shape.ToArray()
        let shape =
            if dims.Length = t.Rank then t.Shape
            else Array.append [| batch.Count |] (dims[1..] |> Array.map (fun d -> d.Size))
        feeds[TrainStep.TargetInput] <- Tensor<float32>(shape, t.Data)
    let options = RunOptions(Seed = uint64 plan.Config.Seed, Step = 1L, CheckFinite = true)
    let r = ReferenceInterpreter<float32>.Run(gg.Graph, feeds, options)
    { Loss = float r["loss"].Data[0]
      Rows = batch.Count
      Params =
        [ for p in parameters ->
              let g = r["grad:" + p.Name]
              let v = values[p.Name]
              { Name = p.Name
                Shape = v.Shape
                Gradient = HostTensor(g.Shape, g.Data)
                GradNorm = norm g.Data
                ValueNorm = norm v.Data } ]
      Steps =
        [ for name, x in gg.Sequences ->
              let g = r["grad-input:" + name]
              { Input = name; Shape = string x.Shape; Norms = stepNorms g.Shape g.Data } ] }

/// The thresholds of the verdict (docs/language.md and `nn grad --help` cite them).
module Thresholds =
    /// a weight layer whose |grad|/|value| is above this is exploding: one SGD step at lr 0.1 would change it by more
    /// than its own size (the examples' layers are below 2 at their initial values)
    let explodingRatio = 10.0
    /// a weight layer whose |grad| is below the last weight layer's divided by this is vanishing; one above it times
    /// this is exploding (gradients that grow towards the input)
    let depthFactor = 100.0

/// What the verdict says of one weight layer.
type LayerState =
    | Healthy
    /// |grad| below 1/depthFactor of the last weight layer's
    | Vanishing
    /// |grad|/|value| above explodingRatio, |grad| above depthFactor times the last weight layer's, or not finite
    | Exploding

/// One weight layer (a parameter of two or more axes: a matrix or a kernel) as the verdict judges it.
type LayerVerdict =
    { Param: ParamGradient
      /// |grad| / |value|, or None when the value is all zeros
      Ratio: float option
      /// |grad| over the last weight layer's |grad| (the layer nearest the output), or None when that one is 0
      OfLast: float option
      State: LayerState }

/// Every weight layer judged, input side first, and the trend of their gradient norms with depth.
type Verdict =
    { Layers: LayerVerdict list
      /// the factor by which weight gradient norms change per layer going towards the input: 10^(−slope) of a
      /// least-squares line through log10 |grad| over the layers' order (None with fewer than two nonzero norms)
      PerLayer: float option }
    member v.Exploding = v.Layers |> List.filter (fun l -> l.State = Exploding)
    member v.Vanishing = v.Layers |> List.filter (fun l -> l.State = Vanishing)

/// The factor by which positive norms, listed input side first, change per position going towards the input:
/// 10^(−slope) of a least-squares line through their log10 (None with fewer than two positive, finite norms).
let private trend (norms: float list) : float option =
    let points =
        norms |> List.indexed
        |> List.filter (fun (_, g) -> g > 0.0 && System.Double.IsFinite g)
        |> List.map (fun (i, g) -> float i, log10 g)
    if points.Length < 2 then None
    else
        let mx, my = List.averageBy fst points, List.averageBy snd points
        let sxy = points |> List.sumBy (fun (x, y) -> (x - mx) * (y - my))
        let sxx = points |> List.sumBy (fun (x, _) -> (x - mx) * (x - mx))
        Some(10.0 ** (-sxy / sxx))

/// Judges every weight layer of a report: its gradient norm, value norm, their ratio and its gradient norm
/// against the last weight layer's; the trend is fitted over all of them.
let judge (report: Report) : Verdict =
    let weights = report.Params |> List.filter (fun p -> p.Shape.Length >= 2)
    let last = weights |> List.tryLast |> Option.map (fun p -> p.GradNorm)
    let layers =
        [ for p in weights ->
              let ratio = if p.ValueNorm > 0.0 then Some(p.GradNorm / p.ValueNorm) else None
              let ofLast =
                  match last with
                  | Some l when l > 0.0 && System.Double.IsFinite l -> Some(p.GradNorm / l)
                  | _ -> None
              let state =
                  if not (System.Double.IsFinite p.GradNorm) then Exploding
                  elif ratio |> Option.exists (fun r -> r > Thresholds.explodingRatio) then Exploding
                  elif ofLast |> Option.exists (fun r -> r > Thresholds.depthFactor) then Exploding
                  elif ofLast |> Option.exists (fun r -> r < 1.0 / Thresholds.depthFactor) then Vanishing
                  else Healthy
              { Param = p; Ratio = ratio; OfLast = ofLast; State = state } ]
    { Layers = layers; PerLayer = trend (weights |> List.map (fun p -> p.GradNorm)) }

/// What the verdict says of the gradient through time of one sequence input.
type TimeVerdict =
    { Steps: StepGradients
      /// the first step's |grad| over the last step's, or None when the last step's is 0 or not finite
      FirstOfLast: float option
      /// the factor by which the norms change per step going towards the first step (as `PerLayer`)
      PerStep: float option
      /// vanishing when the first step's |grad| is below 1/depthFactor of the last step's, exploding when above
      /// depthFactor times it or not finite
      State: LayerState }

/// Judges the gradient through time of a sequence input: its first step against its last, as `judge` compares a
/// weight layer with the last one (the same thresholds).
let judgeSteps (steps: StepGradients) : TimeVerdict =
    let first, last = List.head steps.Norms, List.last steps.Norms
    let ofLast = if last > 0.0 && System.Double.IsFinite last then Some(first / last) else None
    let state =
        if steps.Norms |> List.exists (System.Double.IsFinite >> not) then Exploding
        elif ofLast |> Option.exists (fun r -> r > Thresholds.depthFactor) then Exploding
        elif ofLast |> Option.exists (fun r -> r < 1.0 / Thresholds.depthFactor) then Vanishing
        else Healthy
    { Steps = steps; FirstOfLast = ofLast; PerStep = trend steps.Norms; State = state }
