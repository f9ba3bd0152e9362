module Nn.Tests.Runtime.Training.TrainStepTests

open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Execution

let private sp = SourceSpan.None
let private n = Dim.Sym "n"

/// x [n, 3] |> dense 4 |> batchNorm |> relu |> dropout 0.5 |> dense 2 (logits).
let private bnNet =
    ForwardBuilder(fun ctx ->
        let b = ctx.Builder
        let x = b.Input("x", Shape(n, Dim.Of 3), sp)
        let dense name (h: Node) k units =
            let w = b.Param(name + ".w", Shape.Of(k, units), InitSpec("he"), sp)
            b.Binary(OpKind.Add, b.MatMul(h, w, sp), b.Param(name + ".b", Shape.Of units, InitSpec.Zeros, sp), sp)
        let h = Layers.BatchNorm(ctx, dense "d1" x 3 4, "bn", sp)
        let h = Layers.Dropout(ctx, b.Unary(OpKind.Relu, h, sp), 0.5, sp)
        dense "d2" h 4 2)

let private data =
    let rng = Nn.Runtime.Util.Rng(5UL)
    let xs = Array.init 60 (fun _ -> float32 (rng.NextNormal()))
    let ys = Array.init 20 (fun i -> if xs[3 * i] + xs[3 * i + 1] > 0f then 1f else 0f)
    Dataset(HostTensor([| 20; 3 |], xs), HostTensor([| 20 |], ys))

let private spec =
    TrainSpec(
        Loss = LossKind.SoftmaxCrossEntropy,
        Metrics = [ Metric.Accuracy ],
        TargetShape = TrainStep.TargetShapeOf data.Targets.Shape,
        Optimizer = OptimizerSpec(Kind = OptimizerKind.Adam, Lr = 0.01)
    )

let private outputs (g: Graph) = [ for o in g.Outputs -> o.Key ]

[<Tests>]
let tests =
    testList "Runtime.Training.TrainStep" [
        test "batchNorm's running statistics are outputs of the step and inputs of evaluation" {
            let graphs = TrainStep.Build(bnNet, spec)
            Expect.containsAll
                (outputs graphs.Train)
                [ "new:bn.mean"; "new:bn.var"; "new:bn.gain"; "new:bn.gain.m"; "new:d1.w.v" ]
                "train outputs"
            Expect.isTrue (graphs.Train.Nodes |> Seq.exists (fun x -> x.Op = OpKind.DropoutMask)) "dropout in training"
            Expect.isFalse
                (graphs.Eval.Nodes |> Seq.exists (fun x -> x.Op = OpKind.DropoutMask))
                "no dropout in evaluation"
            Expect.isFalse
                (graphs.Predict.Nodes |> Seq.exists (fun x -> x.Op = OpKind.DropoutMask))
                "no dropout in prediction"
            Expect.equal
                [ for s in graphs.Eval.States -> s.Name ]
                [ "bn.mean"; "bn.var" ]
                "evaluation reads the running statistics"
        }
        test "training moves the running statistics; evaluation is deterministic and differs from a training pass" {
            let graphs = TrainStep.Build(bnNet, spec)
            let exec = ReferenceExecutor.FromSeed(graphs, 2UL)
            let before = exec.Snapshot()
            Trainer.Fit(graphs, exec, data, null, TrainOptions(Epochs = 3, Batch = 8, Seed = 2UL)) |> ignore
            let after = exec.Snapshot()
            Expect.notEqual after["bn.mean"].Data before["bn.mean"].Data "running mean updated"
            Expect.notEqual after["bn.var"].Data before["bn.var"].Data "running var updated"
            let e1 = exec.Evaluate(data.Features, data.Targets)
            let e2 = exec.Evaluate(data.Features, data.Targets)
            Expect.equal e1.Loss e2.Loss "evaluation has no randomness"
            let s = exec.Step(data.Features, data.Targets, 0.0, 100L, 1UL)
            Expect.notEqual s.Loss e1.Loss "a training pass (batch statistics, dropout) differs"
        }
        test "the three graphs pass the verifier, and the optimized step computes the same values" {
            let graphs = TrainStep.Build(bnNet, spec)
            for g in [ graphs.Train; graphs.Eval; graphs.Predict ] do
                Expect.isEmpty (Verifier.Check g) "verifier"
            let optimized = Nn.Runtime.Rewrite.Passes.Optimize graphs.Train
            Expect.isEmpty (Verifier.Check optimized) "verifier after optimization"
            let feeds = Dictionary<string, Nn.Runtime.Execution.Tensor<float>>()
            for kv in Initializers.ForGraph(graphs.Train, 4UL) do
                feeds[kv.Key] <- Nn.Runtime.Execution.Tensor<float>(kv.Value.Shape, kv.Value.Data |> Array.map float)
            feeds["x"] <- Nn.Runtime.Execution.Tensor<float>(data.Features.Shape, data.Features.Data |> Array.map float)
            feeds["target"] <-
                Nn.Runtime.Execution.Tensor<float>(data.Targets.Shape, data.Targets.Data |> Array.map float)
            feeds["lr"] <- Nn.Runtime.Execution.Tensor<float>.Scalar 0.01
            feeds["t"] <- Nn.Runtime.Execution.Tensor<float>.Scalar 1.0
            let options = Nn.Runtime.Execution.RunOptions(Seed = 3UL, Step = 1L)
            let a = Nn.Runtime.Execution.ReferenceInterpreter<float>.Run(graphs.Train, feeds, options)
            let b = Nn.Runtime.Execution.ReferenceInterpreter<float>.Run(optimized, feeds, options)
            Expect.equal (Set.ofSeq b.Keys) (Set.ofSeq a.Keys) "same outputs"
            for kv in a do
                for x, y in Seq.zip kv.Value.Data b[kv.Key].Data do
                    Expect.floatClose { absolute = 1e-12; relative = 1e-9 } y x kv.Key
        }
        test "a target computed from the input (an autoencoder) needs no fed target" {
            let net = ForwardBuilder(fun ctx ->
                let b = ctx.Builder
                let x = b.Input("image", Shape(n, Dim.Of 2), sp)
                b.MatMul(x, b.Param("w", Shape.Of(2, 2), InitSpec("glorot"), sp), sp))
            let target = ForwardBuilder(fun ctx -> ctx.Builder.Input("image", Shape(n, Dim.Of 2), sp))
            let graphs =
                TrainStep.Build(
                    net,
                    TrainSpec(
                        Loss = LossKind.Mse,
                        Target = target,
                        Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.2)
                    )
                )
            Expect.isFalse graphs.FedTarget "computed"
            Expect.equal [ for i in graphs.Train.Inputs -> i.Name ] [ "image"; "lr"; "t" ] "inputs"
            let exec = ReferenceExecutor.FromSeed(graphs, 0UL)
            let xs = Dataset(HostTensor([| 4; 2 |], [| 1f; 0f; 0f; 1f; 1f; 1f; 0.5f; -1f |]), null)
            let r = Trainer.Fit(graphs, exec, xs, null, TrainOptions(Epochs = 200, Batch = 4))
            Expect.isLessThan (Seq.last r.History).TrainLoss 1e-3 "learns the identity"
        }
        test "regularization enters the gradient but not the reported loss" {
            let net = ForwardBuilder(fun ctx ->
                let b = ctx.Builder
                b.MatMul(
                    b.Input("x", Shape(n, Dim.Of 1), sp),
                    b.Param("w", Shape.Of(1, 1), InitSpec("constant", 1.0), sp),
                    sp
                ))
            let run reg =
                let graphs =
                    TrainStep.Build(
                        net,
                        TrainSpec(
                            Loss = LossKind.Mse,
                            Regularize = reg,
                            Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.1)
                        )
                    )
                let exec = ReferenceExecutor.FromSeed(graphs, 0UL)
                let r = exec.Step(HostTensor([| 1; 1 |], [| 1f |]), HostTensor([| 1; 1 |], [| 1f |]), 0.1, 1L, 0UL)
                let snap = exec.Snapshot()
                r.Loss, snap["w"].Data[0]
            let loss0, w0 = run RegularizationSpec.None
            let loss1, w1 = run (RegularizationSpec(L2 = 0.5))
            Expect.equal loss0 0.0 "perfect fit"
            Expect.equal loss1 0.0 "penalty not reported"
            Expect.equal w0 1f "no gradient without penalty"
            Expect.floatClose Accuracy.high (float w1) 0.9 "w - lr · 2 · 0.5 · w"
        }
        test "a network input named like a training input is rejected" {
            let net = ForwardBuilder(fun ctx -> ctx.Builder.Input("lr", Shape(n, Dim.Of 1), sp))
            Expect.throwsC (fun () -> TrainStep.Build(net, TrainSpec()) |> ignore)
                (fun e -> Expect.stringContains e.Message "`lr`" "names the input")
        }
        test "a target that does not fit the loss is NN0210" {
            let graphs () = TrainStep.Build(bnNet, TrainSpec(Loss = LossKind.Mse, TargetShape = Shape(n, Dim.Of 3)))
            Expect.throwsC (fun () -> graphs () |> ignore)
                (fun e -> Expect.equal (e :?> ShapeException).Code "NN0210" "code")
        }
        test "a training state survives a checkpoint file and resumes bit-identically" {
            let graphs = TrainStep.Build(bnNet, spec)
            let options (save: TrainingState -> unit) =
                TrainOptions(
                    Epochs = 4,
                    Batch = 8,
                    Seed = 9UL,
                    Stop = EarlyStoppingSpec(Monitor = Monitor.Loss, Patience = 10),
                    OnCheckpoint = save
                )
            let full = ReferenceExecutor.FromSeed(graphs, 9UL)
            let path = Path.Combine(Path.GetTempPath(), $"nn-training-{System.Guid.NewGuid():N}.safetensors")
            try
                let saveAfter2 (s: TrainingState) = if s.EpochsDone = 2 then Nn.Compiler.Checkpoint.save path s []
                Trainer.Fit(graphs, full, data, null, options saveAfter2) |> ignore
                let state, _ = Nn.Compiler.Checkpoint.readState path
                Expect.equal state.EpochsDone 2 "epochs done"
                Expect.equal state.Steps 6L "3 batches per epoch"
                Expect.isTrue
                    (state.Values.ContainsKey "d1.w.m" && state.Values.ContainsKey "bn.mean")
                    "optimizer and layer state"
                Expect.isSome (Option.ofObj state.BestValues) "best weights kept"
                let resumed = ReferenceExecutor.FromSeed(graphs, 1234UL)
                Trainer.Fit(graphs, resumed, data, null, options ignore, state) |> ignore
                let a, b = full.Snapshot(), resumed.Snapshot()
                for kv in a do Expect.sequenceEqual (b[kv.Key].Data) kv.Value.Data $"`{kv.Key}`"
            finally
                File.Delete path
        }
    ]
