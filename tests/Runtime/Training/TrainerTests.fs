module Nn.Tests.Runtime.Training.TrainerTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Ops
open Nn.Runtime.Training
open Nn.Runtime.Execution
open Nn.Tests.TestUtil

let private sp = SourceSpan.None
let private n = Dim.Sym "n"

/// xor.nn built by hand: x |> dense 8 |> tanh |> dense 1 |> sigmoid.
let private xorNet =
    ForwardBuilder(fun ctx ->
        let b = ctx.Builder
        let x = b.Input("x", Shape(n, Dim.Of 2), sp)
        let dense name (h: Node) k units =
            let w = b.Param(name + ".w", Shape.Of(k, units), InitSpec("glorot"), sp)
            let bias = b.Param(name + ".b", Shape.Of units, InitSpec.Zeros, sp)
            b.Binary(OpKind.Add, b.MatMul(h, w, sp), bias, sp)
        let h = b.Unary(OpKind.Tanh, dense "dense1" x 2 8, sp)
        b.Unary(OpKind.Sigmoid, dense "dense2" h 8 1, sp))

let private xorData =
    Dataset(HostTensor([| 4; 2 |], [| 0f; 0f; 0f; 1f; 1f; 0f; 1f; 1f |]), HostTensor([| 4; 1 |], [| 0f; 1f; 1f; 0f |]))

let private xorSpec =
    TrainSpec(
        Loss = LossKind.BinaryCrossEntropy,
        Metrics = [ Metric.Accuracy ],
        Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.5, Momentum = 0.9)
    )

let private xorOptions = TrainOptions(Epochs = 500, Batch = 4, Seed = 1UL)

let private trainXor () =
    let graphs = TrainStep.Build(xorNet, xorSpec)
    let exec = ReferenceExecutor.FromSeed(graphs, 1UL)
    let result = Trainer.Fit(graphs, exec, xorData, null, xorOptions)
    graphs, exec, result

/// A linear model y = x @ w on one feature, for loop mechanics.
let private linear =
    ForwardBuilder(fun ctx ->
        let b = ctx.Builder
        let x = b.Input("x", Shape(n, Dim.Of 1), sp)
        b.MatMul(x, b.Param("w", Shape.Of(1, 1), InitSpec("constant", 0.0), sp), sp))

/// `linear` trained by plain SGD at this learning rate on the mean squared error.
let private linearSgd (lr: float) =
    TrainStep.Build(
        linear, TrainSpec(Loss = LossKind.Mse, Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = lr)))

/// One example: x = 1, y = 2.
let private oneExample () = Dataset(HostTensor([| 1; 1 |], [| 1f |]), HostTensor([| 1; 1 |], [| 2f |]))

let private line count =
    let xs = Array.init count (fun i -> float32 i / float32 count)
    Dataset(HostTensor([| count; 1 |], xs), HostTensor([| count; 1 |], xs |> Array.map (fun x -> 2f * x)))

[<Tests>]
let tests =
    testList "Runtime.Training.Trainer" [
        test "xor (2-8-1 tanh/sigmoid, bce, sgd 0.5 momentum 0.9, batch 4, 500 epochs, seed 1) reaches loss < 0.05" {
            let graphs, exec, result = trainXor ()
            let last = List.last (List.ofSeq result.History)
            Expect.equal result.History.Count 500 "every epoch ran"
            Expect.equal result.Steps 500L "one step per epoch"
            Expect.isLessThan last.TrainLoss 0.05 "final training loss"
            let ev = exec.Evaluate(xorData.Features, xorData.Targets)
            Expect.isLessThan ev.Loss 0.05 "evaluation loss after the last update"
            Expect.equal ev.Metrics[0] 1.0 "all four rows right"
            let p = exec.Predict(xorData.Features)
            Expect.equal p.Shape [| 4; 1 |] "prediction shape"
            Expect.isTrue (p.Data[0] < 0.5f && p.Data[1] > 0.5f && p.Data[2] > 0.5f && p.Data[3] < 0.5f) "xor"
        }
        test "two runs with the same seed give bit-identical weights; another seed does not" {
            let run seed =
                let graphs = TrainStep.Build(xorNet, xorSpec)
                let exec = ReferenceExecutor.FromSeed(graphs, seed)
                Trainer.Fit(graphs, exec, xorData, null, TrainOptions(Epochs = 20, Batch = 2, Seed = seed)) |> ignore
                exec.Snapshot()
            let a, b, c = run 5UL, run 5UL, run 6UL
            Expect.equal (Set.ofSeq a.Keys) (Set.ofSeq b.Keys) "same names"
            for kv in a do
                Expect.sequenceEqual (b[kv.Key].Data) kv.Value.Data $"`{kv.Key}` bit-identical"
            Expect.isFalse (a["dense1.w"].Data = c["dense1.w"].Data) "seed 6 differs"
        }
        test "the step graph's outputs: loss, metrics, new value of every param and state" {
            let graphs = TrainStep.Build(xorNet, xorSpec)
            let names = graphs.Train.Outputs |> Seq.map (fun o -> o.Key) |> List.ofSeq
            Expect.equal names
                [ "loss"; "metric:accuracy"; "new:dense1.w"; "new:dense1.b"; "new:dense2.w"; "new:dense2.b"
                  "new:dense1.w.m"; "new:dense1.b.m"; "new:dense2.w.m"; "new:dense2.b.m" ] "outputs"
            Expect.equal [ for i in graphs.Train.Inputs -> i.Name ] [ "x"; "target"; "lr"; "t" ] "inputs"
            Expect.equal
                [ for o in graphs.Eval.Outputs -> o.Key ]
                [ "output"; "loss"; "metric:accuracy" ]
                "eval outputs"
            Expect.equal [ for o in graphs.Predict.Outputs -> o.Key ] [ "output" ] "predict outputs"
            Expect.isEmpty (graphs.Predict.Inputs |> Seq.filter (fun i -> i.Name <> "x")) "prediction needs only x"
        }
        test "every epoch reports loss, metrics, validation and throughput, and the last partial batch is trained on" {
            let graphs =
                TrainStep.Build(
                    linear,
                    TrainSpec(
                        Loss = LossKind.Mse,
                        Metrics = [ Metric.Mae ],
                        Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.5)
                    )
                )
            let exec = ReferenceExecutor.FromSeed(graphs, 0UL)
            let reports = List<EpochReport>()
            let struct (train, valid) = (line 10).Split(0.3)
            let r =
                Trainer.Fit(
                    graphs,
                    exec,
                    train,
                    valid,
                    TrainOptions(Epochs = 3, Batch = 3, OnEpoch = (fun e -> reports.Add e))
                )
            Expect.equal r.Steps 9L "7 rows in batches of 3: 3 steps per epoch"
            Expect.equal reports.Count 3 "one report per epoch"
            for e in reports do
                Expect.isTrue e.ValidationLoss.HasValue "validation loss"
                Expect.isTrue (e.Metrics.ContainsKey "mae" && e.ValidationMetrics.["mae"] >= 0.0) "metrics"
                Expect.isGreaterThan e.SamplesPerSec 0.0 "throughput"
            Expect.isLessThan reports[2].ValidationLoss.Value reports[0].ValidationLoss.Value "learning"
        }
        test "a diverging run stops with NN0612 naming the step, the epoch, the op and its span" {
            let optSpan = SourceSpan("lin.nn", 7, 17, 7, 40)
            let graphs =
                TrainStep.Build(
                    linear,
                    TrainSpec(
                        Loss = LossKind.Mse,
                        Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 1e30),
                        OptimizerSpan = optSpan
                    )
                )
            let exec = ReferenceExecutor.FromSeed(graphs, 0UL)
            let before = exec.Snapshot()
            let big = Dataset(HostTensor([| 2; 1 |], [| 1e10f; 1e10f |]), HostTensor([| 2; 1 |], [| 0f; 1f |]))
            let ex =
                try Trainer.Fit(graphs, exec, big, null, TrainOptions(Epochs = 5, Batch = 2)) |> ignore; None
                with :? TrainingDivergedException as e -> Some e
            Expect.isSome ex "diverged"
            let e = ex.Value
            Expect.equal e.Code "NN0612" "code"
            expectSpan e.Span optSpan "span of the update"
            // lr · g = 1e30 · -1e10 overflows float32 in the update's product.
            Expect.equal e.Message
                ("lin.nn(7,17): error NN0612: training diverged at step 1 (epoch 1, batch 1): "
                 + "`Mul` produced -infinity; "
                 + "try a smaller learning rate, gradient clipping (`clip = norm 1.0`) or standardized inputs")
                "message"
            let after = exec.Snapshot()
            Expect.sequenceEqual after["w"].Data before["w"].Data "the failed step left the weights alone"
        }
        test (
            "a loss that explodes while staying finite stops with NN0620 at the loss; "
            + "divergence = 0 turns the guard off"
        ) {
            // y = w·x with x = 1, y = 2, w = 0, lr 10: the error is multiplied by -19 every step, the loss by 361:
            // 4, 1444, 521284, 1.88e8 — finite, but past 1e6 × 4 at step 4.
            let lossSpan = SourceSpan("lin.nn", 9, 17, 9, 20)
            let graphs =
                TrainStep.Build(
                    linear,
                    TrainSpec(
                        Loss = LossKind.Mse,
                        Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 10.0),
                        LossSpan = lossSpan
                    )
                )
            let data = oneExample ()
            let fit options = Trainer.Fit(graphs, ReferenceExecutor.FromSeed(graphs, 0UL), data, null, options)
            let e =
                try fit (TrainOptions(Epochs = 6, Batch = 1)) |> ignore; failtest "trained on"
                with :? TrainingDivergedException as e -> e
            Expect.equal (e.Code, e.Step, e.Epoch) ("NN0620", 4L, 3) "code, step and epoch"
            expectSpan e.Span lossSpan "at the loss"
            Expect.equal e.Message
                ("lin.nn(9,17): error NN0620: training diverged at step 4 (epoch 4, batch 1): "
                 + "the loss (`mse`) reached 1.882e+8, "
                 + "above the limit 4e+6 = `divergence` (1e+6) × max(1, the first batch's loss 4); "
                 + "try a smaller learning rate, "
                 + "gradient clipping (`clip = norm 1.0`) or standardized inputs "
                 + "(or raise `divergence`; 0 turns this check off)")
                "message"
            let r = fit (TrainOptions(Epochs = 6, Batch = 1, Divergence = 0.0))
            Expect.equal r.History.Count 6 "off: every epoch runs"
            Expect.isGreaterThan r.History[5].TrainLoss 1e13 "and the loss keeps exploding"
            let r = fit (TrainOptions(Epochs = 4, Batch = 1, Divergence = 1e8))
            Expect.equal r.History.Count 4 "a larger limit lets step 4 through"
            Expect.throwsC (fun () -> fit (TrainOptions(Epochs = 1, Batch = 1, Divergence = 0.5)) |> ignore)
                (fun e ->
                    Expect.stringContains
                        e.Message
                        "`divergence` must be 0 (off) or a factor of at least 1"
                        "bad factor")
        }
        test "reused checkpoint tensors hold each epoch's values, and the last completed epoch's when one diverges" {
            // y = w·x with x = 1, y = 2, w = 0, lr 10 (as above): the error w - 2 is multiplied by -19 every step, so
            // w = 40, -720, 13720 after epochs 1..3 of one step each; step 4's loss passes the limit
            let graphs = linearSgd 10.0
            let data = oneExample ()
            let executors: IStepExecutor list =
                [ ReferenceExecutor.FromSeed(graphs, 0UL)
                  Nn.Runtime.Executors.StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 0UL)) ]
            for exec in executors do
                let seen = List<float32>()
                let states = List<TrainingState>()
                let options =
                    TrainOptions(Epochs = 6, Batch = 1, ReuseCheckpointValues = true,
                                 OnCheckpoint = (fun s -> seen.Add s.Values["w"].Data[0]; states.Add s))
                Expect.throwsT<TrainingDivergedException>
                    (fun () -> Trainer.Fit(graphs, exec, data, null, options) |> ignore) "diverges at step 4"
                Expect.sequenceEqual seen [ 40f; -720f; 13720f ] "each epoch's w, when it was passed"
                let last = states[states.Count - 1]
                Expect.equal last.EpochsDone 3 "the last completed epoch"
                Expect.equal last.Values["w"].Data[0] 13720f "its values, not the diverged step's"
                Expect.isTrue (obj.ReferenceEquals(states[0].Values, last.Values)) "one set of tensors, reused"
        }
        test "the first checkpoint is written into the tensors given for it (CheckpointInto), then reused" {
            let graphs = linearSgd 0.1
            let data = oneExample ()
            let initial = Initializers.ForGraph(graphs.Train, 0UL)
            let exec = Nn.Runtime.Executors.StepExecutor.Create(graphs, initial)
            // each checkpoint: its tensors, its w when passed, the executor's w then
            let seen = List<Dictionary<string, HostTensor> * float32 * float32>()
            let record (s: TrainingState) =
                seen.Add((s.Values, s.Values["w"].Data[0], exec.Snapshot().Item("w").Data[0]))
            let options =
                TrainOptions(Epochs = 3, Batch = 1, ReuseCheckpointValues = true, CheckpointInto = initial,
                             OnCheckpoint = record)
            Trainer.Fit(graphs, exec, data, null, options) |> ignore
            Expect.equal seen.Count 3 "a checkpoint an epoch"
            for values, w, current in seen do
                Expect.isTrue (obj.ReferenceEquals(values, initial)) "written into the tensors given"
                Expect.equal w current "the executor's values at that checkpoint"
            let _, _, last = seen[2]
            Expect.floatClose Accuracy.low (float last) (2.0 * (1.0 - 0.8 ** 3.0)) "w after 3 steps"
        }
        test "early stopping stops after `patience` epochs without improvement and restores the best weights" {
            // lr 1.1 on y = w·x with x = 1, y = 2 overshoots more every step: the first epoch is the best.
            let graphs = linearSgd 1.1
            let exec = ReferenceExecutor.FromSeed(graphs, 0UL)
            let data = oneExample ()
            let weights = List<float32>()
            let options =
                TrainOptions(Epochs = 50, Batch = 1, Stop = EarlyStoppingSpec(Monitor = Monitor.Loss, Patience = 2),
                             OnCheckpoint = (fun s -> weights.Add s.Values["w"].Data[0]))
            let r = Trainer.Fit(graphs, exec, data, null, options)
            Expect.isTrue r.StoppedEarly "stopped"
            Expect.equal r.History.Count 3 "best epoch then two without improvement"
            Expect.equal r.BestEpoch (System.Nullable 0) "epoch 0 was best"
            // w: 0 → 4.4 → -0.88 → ...; losses 4, 5.76, 8.29 (measured before each update); the snapshot is taken
            // after epoch 0.
            let restored = exec.Snapshot()
            Expect.equal restored["w"].Data[0] weights[0] "weights after the best epoch restored"
            Expect.notEqual weights[0] weights[2] "and they differ from the last epoch's"
        }
        test "a resumed run continues bit-identically" {
            let graphs = TrainStep.Build(xorNet, xorSpec)
            let full = ReferenceExecutor.FromSeed(graphs, 3UL)
            let states = List<TrainingState>()
            let options = TrainOptions(Epochs = 6, Batch = 2, Seed = 3UL, OnCheckpoint = (fun s -> states.Add s))
            Trainer.Fit(graphs, full, xorData, null, options) |> ignore
            let resumed = ReferenceExecutor.FromSeed(graphs, 99UL)
            Trainer.Fit(graphs, resumed, xorData, null, options, states[2]) |> ignore
            let a, b = full.Snapshot(), resumed.Snapshot()
            for kv in a do Expect.sequenceEqual (b[kv.Key].Data) kv.Value.Data $"`{kv.Key}`"
        }
        test "batches of wide rows (copied by two threads where there are two) hold the data's rows, each once" {
            // 100 rows of 1000 numbers (row r: r·1000 + column), batch 32: 32,000 numbers a batch, past the size
            // where the copy is split between the kernels' threads; the last batch of 4 is copied on one thread
            let width, count = 1000, 100
            let x = HostTensor([| count; width |], Array.init (count * width) float32)
            let y = HostTensor([| count; 1 |], Array.init count float32)
            let graphs =
                TrainStep.Build(
                    ForwardBuilder(fun ctx ->
                        let b = ctx.Builder
                        let x = b.Input("x", Shape(n, Dim.Of width), sp)
                        b.MatMul(x, b.Param("w", Shape.Of(width, 1), InitSpec.Zeros, sp), sp)),
                    TrainSpec(Loss = LossKind.Mse, Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd)))
            let seen = List<float32[] * float32[]>()
            let recording =
                { new IStepExecutor with
                    member _.Load _ = ()
                    member _.Snapshot() = Dictionary<string, HostTensor>()
                    member _.Step(xs: IReadOnlyList<HostTensor>, t: HostTensor, _: float, _: int64, _: uint64) =
                        seen.Add((Array.copy xs[0].Data, Array.copy t.Data))
                        BatchResult.Of(1.0, [||], [||])
                    member _.Evaluate(_: IReadOnlyList<HostTensor>, _: HostTensor) = BatchResult.Of(1.0, [||], [||])
                    member _.Predict(_: IReadOnlyList<HostTensor>) = x }
            Trainer.Fit(graphs, recording, Dataset(x, y), null, TrainOptions(Epochs = 2, Batch = 32, Seed = 3UL))
            |> ignore
            let sizes = seen |> Seq.map (fun (b, _) -> b.Length / width) |> List.ofSeq
            Expect.equal sizes [ 32; 32; 32; 4; 32; 32; 32; 4 ] "batch sizes"
            for epoch in 0..1 do
                let rows =
                    [ for b, t in Seq.skip (4 * epoch) seen |> Seq.take 4 do
                          for i in 0 .. b.Length / width - 1 do
                              let r = int b[i * width] / width
                              Expect.equal b[i * width .. (i + 1) * width - 1] x.Data[r * width .. (r + 1) * width - 1]
                                  (sprintf "row %d whole" r)
                              Expect.equal t[i] (float32 r) (sprintf "the target of row %d" r)
                              yield r ]
                Expect.equal (List.sort rows) [ 0 .. count - 1 ] (sprintf "epoch %d: every row once" (epoch + 1))
                Expect.notEqual rows [ 0 .. count - 1 ] "shuffled"
        }
        test "rows held as bytes (an IDX file's) train bit for bit as the same rows as floats, on 1 and 2 threads" {
            // 70 rows of 784 bytes, batch 32 (25,088 values a batch: copied by two threads where there are two; the
            // last batch of 6 on one), 20 more rows for validation, the input divided by 255 as the examples do
            let rng = System.Random 5
            let bytes count = Array.init (count * 784) (fun _ -> byte (rng.Next 256))
            let trainBytes, validBytes = bytes 70, bytes 20
            let classes count = HostTensor([| count |], Array.init count (fun _ -> float32 (rng.Next 3)))
            let trainY, validY = classes 70, classes 20
            let run (threads: int) (asBytes: bool) =
                let graphs = Nn.Tests.Runtime.Engine.StepNetworks.networkOf true [ 784; 16; 3 ]
                let x (b: byte[]) =
                    if asBytes then HostTensor.OfBytes([| b.Length / 784; 784 |], b)
                    else HostTensor([| b.Length / 784; 784 |], Array.map float32 b)
                let exec =
                    Nn.Runtime.Executors.StepExecutor.Create(
                        graphs, Initializers.ForGraph(graphs.Train, 2UL), ExecutorOptions(Threads = threads))
                let train, valid = Dataset(x trainBytes, trainY), Dataset(x validBytes, validY)
                let r = Trainer.Fit(graphs, exec, train, valid, TrainOptions(Epochs = 3, Batch = 32, Seed = 4UL))
                Expect.equal (train.Features.Bytes <> null) asBytes "the training rows were never widened whole"
                [ for e in r.History -> e.TrainLoss, e.ValidationLoss.Value ], exec.Snapshot()
            for threads in [ 1; 2 ] do
                let (lossesF, valuesF), (lossesB, valuesB) = run threads false, run threads true
                Expect.equal lossesB lossesF (sprintf "%d thread(s): every epoch's losses" threads)
                for kv in valuesF do
                    let what = sprintf "%d thread(s): `%s`" threads kv.Key
                    Expect.sequenceEqual valuesB[kv.Key].Data kv.Value.Data what
        }
    ]
