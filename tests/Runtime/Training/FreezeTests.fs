/// `freeze` in the training step (TrainSpec.Frozen): frozen Params get no gradient, penalty or optimizer state and
/// end bit-identical; the other Params are updated exactly as without the freeze, on both engines.
module Nn.Tests.Runtime.Training.FreezeTests

open System
open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Executors

let private sp = SourceSpan.None
let private n = Dim.Sym "n"

/// x [n, 3] |> dense 5 |> tanh |> dense 4 |> tanh |> dense 2 (logits), layers d1, d2, d3.
let private net =
    ForwardBuilder(fun ctx ->
        let b = ctx.Builder
        let x = b.Input("x", Shape(n, Dim.Of 3), sp)
        let dense name (h: Node) k units =
            let w = b.Param(name + ".w", Shape.Of(k, units), InitSpec("glorot"), sp)
            b.Binary(OpKind.Add, b.MatMul(h, w, sp), b.Param(name + ".b", Shape.Of units, InitSpec.Zeros, sp), sp)
        let h = b.Unary(OpKind.Tanh, dense "d1" x 3 5, sp)
        let h = b.Unary(OpKind.Tanh, dense "d2" h 5 4, sp)
        dense "d3" h 4 2)

let private data =
    let rng = Nn.Runtime.Util.Rng(7UL)
    let xs = Array.init 48 (fun _ -> float32 (rng.NextNormal()))
    let ys = Array.init 16 (fun i -> if xs[3 * i] - xs[3 * i + 2] > 0f then 1f else 0f)
    Dataset(HostTensor([| 16; 3 |], xs), HostTensor([| 16 |], ys))

/// AdamW with weight decay, an L2 penalty and global-norm clipping: everything a frozen Param must stay out of.
let private spec (frozen: string list) =
    TrainSpec(
        Loss = Nn.Runtime.Ops.LossKind.SoftmaxCrossEntropy,
        TargetShape = TrainStep.TargetShapeOf data.Targets.Shape,
        Optimizer = OptimizerSpec(Kind = OptimizerKind.AdamW, Lr = 0.05, WeightDecay = 0.1),
        Regularize = RegularizationSpec(0.0, 0.01),
        Clip = ClipSpec(Nullable 1.0, Nullable()),
        Frozen = (if frozen.IsEmpty then null else HashSet<string>(frozen) :> IReadOnlySet<string>))

let private run (engine: string) (graphs: StepGraphs) (steps: int) =
    let init = Initializers.ForGraph(graphs.Train, 3UL)
    let exec = StepExecutor.Create(graphs, init, ExecutorOptions(Engine = engine))
    for step in 1 .. steps do exec.Step(data.Features, data.Targets, 0.05, int64 step, 1UL) |> ignore
    init, exec.Snapshot()

/// One float32 SGD step computed by two engines (float32 fused, the reference) differs in the last bits only.
let private oneStep = { absolute = 1e-6; relative = 1e-4 }

let private bits (t: HostTensor) = t.Data |> Array.map BitConverter.SingleToInt32Bits

[<Tests>]
let tests =
    testList "Runtime.Training.Freeze" [
        test "frozen Params have no optimizer state and their new value is the Param itself" {
            let g = TrainStep.Build(net, spec [ "d1.w"; "d1.b" ])
            let states = [ for s in g.States -> s.Name ]
            Expect.containsAll states [ "d2.w.m"; "d2.w.v"; "d3.b.m" ] "trainable Params keep their moments"
            Expect.isFalse (states |> List.exists (fun s -> s.StartsWith "d1.")) "no state for d1.w or d1.b"
            let out name = g.Train.Outputs |> Seq.find (fun o -> o.Key = "new:" + name) |> fun o -> o.Value
            Expect.equal (out "d1.w").Op OpKind.Param "new:d1.w is the Param, unchanged"
            Expect.notEqual (out "d2.w").Op OpKind.Param "new:d2.w is an update"
            Expect.equal [ for p in g.Params -> p.Name ] [ "d1.w"; "d1.b"; "d2.w"; "d2.b"; "d3.w"; "d3.b" ]
                "frozen Params are still Params (saved, loaded, counted)"
        }

        test "a frozen first layer costs no backward work: the step has no node computing its gradient" {
            // the gradient of d1.w is x^T @ (dL/d h1): a MatMul reading the Input x, which only d1.w's gradient needs
            let readsX (g: Graph) =
                g.Nodes |> Seq.filter (fun x -> x.Op = OpKind.MatMul || x.Op = OpKind.Transpose)
                |> Seq.filter (fun m -> m.Inputs |> Seq.exists (fun i -> i.Op = OpKind.Input && i.Name = "x"))
                |> Seq.length
            let all = TrainStep.Build(net, spec []).Train
            let frozen = TrainStep.Build(net, spec [ "d1.w"; "d1.b" ]).Train
            Expect.isGreaterThan (readsX all) (readsX frozen) "the gradient of d1.w reads x, without freeze only"
            Expect.isLessThan frozen.Nodes.Count all.Nodes.Count "a smaller step"
        }

        for engine in [ "fused"; "reference" ] do
            test (sprintf "frozen Params end bit-identical, and the others as without the freeze (%s)" engine) {
                let init, frozen = run engine (TrainStep.Build(net, spec [ "d2.w"; "d2.b" ])) 5
                for name in [ "d2.w"; "d2.b" ] do
                    Expect.sequenceEqual (bits frozen[name]) (bits init[name]) (sprintf "%s unchanged" name)
                for name in [ "d1.w"; "d3.w" ] do
                    Expect.notEqual frozen[name].Data init[name].Data (sprintf "%s trained" name)
            }

        test "one step: a trainable Param's update does not depend on another Param being frozen (fused = reference)" {
            // with d3 (the last layer) frozen, d1 and d2 get the gradient they get without the freeze; clipping by
            // global norm would mix the frozen gradient in, so this spec has none
            let plain frozen =
                TrainSpec(
                    Loss = Nn.Runtime.Ops.LossKind.SoftmaxCrossEntropy,
                    TargetShape = TrainStep.TargetShapeOf data.Targets.Shape,
                    Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.1),
                    Frozen = HashSet<string>(frozen :> string seq))
            let _, free = run "reference" (TrainStep.Build(net, plain [])) 1
            for engine in [ "fused"; "reference" ] do
                let init, frozen = run engine (TrainStep.Build(net, plain [ "d3.w"; "d3.b" ])) 1
                for name in [ "d1.w"; "d1.b"; "d2.w"; "d2.b" ] do
                    let a, e = frozen[name].Data, free[name].Data
                    for i in 0 .. a.Length - 1 do
                        Expect.floatClose oneStep (float a[i]) (float e[i]) (sprintf "%s %s[%d]" engine name i)
                Expect.sequenceEqual (bits frozen["d3.w"]) (bits init["d3.w"]) (sprintf "%s d3.w unchanged" engine)
        }
    ]
