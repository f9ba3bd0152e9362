/// One batch's gradients of a train block's loss with respect to every parameter: the numbers behind a
/// vanishing- or exploding-gradient diagnosis (`nn grad`).
module Nn.Compiler.Gradients

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

/// The loss of the batch (before any update) and the gradient of every parameter, in order of creation.
type Report = { Loss: float; Rows: int; Params: ParamGradient list }

let private norm (xs: float32[]) = sqrt (xs |> Array.sumBy (fun x -> float x * float x))

/// The graph of a network's loss (as a train block defines it) and its gradients: outputs `loss` and
/// `grad:<parameter>` for every parameter, in training mode.
type GradientGraph =
    { Graph: Graph
      /// the network's data input
      Input: string
      /// the target node (an Input fed as `target`, or computed from the input)
      Target: Node
      Params: Node[] }

/// Build the loss-and-gradients graph of `net` with the loss of `spec` (the train block's).
let graph (net: NetworkInfo) (spec: TrainSpec) : GradientGraph =
    let b = GraphBuilder()
    let fc = ForwardContext(b, true)
    let fwd = forwardIn net fc
    let out = fwd.Output
    let target =
        if isNull spec.Target then
            b.Input(TrainStep.TargetInput, (if isNull spec.TargetShape then out.Shape else spec.TargetShape), spec.LossSpan)
        else spec.Target.Invoke fc
    let loss = Losses.Build(spec.Loss, b, out, target, spec.LossSpan, spec.HuberDelta)
    let parameters = b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> Array.ofSeq
    let grads = Backward.Gradients(b, loss, parameters)
    let outputs =
        KeyValuePair("loss", loss) :: [ for p, g in Array.zip parameters grads -> KeyValuePair("grad:" + p.Name, g) ]
    { Graph = b.Build outputs; Input = fst fwd.Inputs.Head; Target = target; Params = parameters }

/// The gradients of the data loss (no regularization, no clipping) on the first `rows` training rows of `plan`,
/// in training mode (batch statistics, dropout with the run's seed), at `values` (Params and States).
let compute (plan: TrainPlan.Plan) (values: IReadOnlyDictionary<string, HostTensor>) (rows: int) : Report =
    let spec = plan.Graphs.Spec
    let gg = graph plan.Network spec
    let target = gg.Target
    let parameters = gg.Params
    let batch = plan.Train.Rows(0, min rows plan.Train.Count)
    let feeds = Dictionary<string, Tensor<float32>>()
    for KeyValue(k, v) in values do feeds[k] <- Tensor<float32>(v.Shape, v.Data)
    feeds[gg.Input] <- Tensor<float32>(batch.Features.Shape, batch.Features.Data)
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
                ValueNorm = norm v.Data } ] }
