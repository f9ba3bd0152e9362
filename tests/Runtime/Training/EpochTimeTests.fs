/// The trainer's own measures of a run: an epoch's seconds (no start-up, no callbacks), the weights it ends with when
/// early stopping restores an epoch, and the executor's warm-up that keeps first-use work out of the first epoch.
module Nn.Tests.Runtime.Training.EpochTimeTests

open System.Diagnostics
open System.Threading
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Ops
open Nn.Runtime.Training

let private sp = SourceSpan.None

/// x |> dense 8 |> tanh |> dense 1 |> sigmoid, built by hand.
let private net =
    ForwardBuilder(fun ctx ->
        let b = ctx.Builder
        let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 2), sp)
        let dense name (h: Node) k units =
            let w = b.Param(name + ".w", Shape.Of(k, units), InitSpec("glorot"), sp)
            let bias = b.Param(name + ".b", Shape.Of units, InitSpec.Zeros, sp)
            b.Binary(OpKind.Add, b.MatMul(h, w, sp), bias, sp)
        let h = b.Unary(OpKind.Tanh, dense "dense1" x 2 8, sp)
        b.Unary(OpKind.Sigmoid, dense "dense2" h 8 1, sp))

/// 40 noisy points of two classes (20 of them held out for validation).
let private data =
    let rng = System.Random 3
    let xs = Array.init 80 (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
    let ys = Array.init 40 (fun i -> if (xs[2 * i] * xs[2 * i + 1] > 0f) <> (rng.NextDouble() < 0.2) then 1f else 0f)
    Dataset(HostTensor([| 40; 2 |], xs), HostTensor([| 40; 1 |], ys))

let private graphs () =
    TrainStep.Build(
        net,
        TrainSpec(
            Loss = LossKind.BinaryCrossEntropy,
            Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 3.0, Momentum = 0.9)
        )
    )

let private fused (g: StepGraphs) =
    Nn.Runtime.Executors.StepExecutor.Create(g, Initializers.ForGraph(g.Train, 5UL), ExecutorOptions())

type private Inputs = System.Collections.Generic.IReadOnlyList<HostTensor>

/// The executor without its warm-up (the interface's default Prepare, which does nothing).
let private withoutPrepare (e: IStepExecutor) =
    { new IStepExecutor with
        member _.Load v = e.Load v
        member _.Snapshot() = e.Snapshot()
        member _.Step(x: Inputs, y, lr, step, seed) = e.Step(x, y, lr, step, seed)
        member _.Evaluate(x: Inputs, y) = e.Evaluate(x, y)
        member _.Predict(x: Inputs) = e.Predict x }

let private bits (values: System.Collections.Generic.Dictionary<string, HostTensor>) =
    values
    |> Seq.sortBy (fun kv -> kv.Key)
    |> Seq.map (fun kv -> kv.Key, kv.Value.Data |> Array.map System.BitConverter.SingleToInt32Bits)
    |> List.ofSeq

[<Tests>]
let tests =
    testList "Runtime.Training.EpochTime" [
        test "an epoch's Seconds leave out the callbacks (progress, checkpoint writes) around it" {
            // the CLI used to time epochs with its own clock, restarted in OnEpoch, so a slow checkpoint write after
            // an epoch landed in the next epoch's seconds; here each callback sleeps 150 ms
            let g = graphs ()
            let slow = System.Action<_>(fun _ -> Thread.Sleep 150)
            let clock = Stopwatch.StartNew()
            let r =
                Trainer.Fit(
                    g,
                    fused g,
                    data,
                    null,
                    TrainOptions(Epochs = 4, Batch = 8, Seed = 5UL, OnEpoch = slow, OnCheckpoint = slow)
                )
            Expect.isGreaterThan clock.Elapsed.TotalSeconds 1.2 "the callbacks slept"
            for e in r.History do
                Expect.isLessThan
                    e.Seconds
                    0.15
                    (sprintf "epoch %d: %g s, without the callbacks' 0.3 s" (e.Epoch + 1) e.Seconds)
                Expect.isGreaterThan e.Seconds 0.0 "measured"
        }

        test (
            "the warm-up before the first epoch changes no result: fused training with and without it is bit-identical"
        ) {
            let g = graphs ()
            let options = TrainOptions(Epochs = 6, Batch = 16, Seed = 5UL)
            let struct (train, validation) = data.Split(0.25)
            let a = fused g
            let b = fused g
            let ra = Trainer.Fit(g, a, train, validation, options)
            let rb = Trainer.Fit(g, withoutPrepare b, train, validation, options)
            Expect.equal (bits (a.Snapshot())) (bits (b.Snapshot())) "every value"
            Expect.equal
                [ for e in ra.History -> e.TrainLoss, e.ValidationLoss ]
                [ for e in rb.History -> e.TrainLoss, e.ValidationLoss ]
                "losses"
        }

        test "early stopping that restores an epoch says which, and the checkpoint hook saw the last epoch's state" {
            let g = graphs ()
            let struct (train, validation) = data.Split(0.5)
            let exec = fused g
            let mutable lastState: TrainingState = Unchecked.defaultof<_>
            let snapshots = System.Collections.Generic.List<_>()
            let options =
                TrainOptions(Epochs = 60, Batch = 4, Seed = 5UL, Stop = EarlyStoppingSpec(Patience = 2),
                             OnCheckpoint = System.Action<_>(fun s -> lastState <- s; snapshots.Add(bits s.Values)))
            let r = Trainer.Fit(g, exec, train, validation, options)
            Expect.isTrue r.StoppedEarly "stopped early"
            Expect.isTrue r.RestoredEpoch.HasValue "restored an epoch"
            let k = r.RestoredEpoch.Value
            Expect.equal (System.Nullable k) (System.Nullable r.BestEpoch.Value) "the best one"
            Expect.isLessThan k (r.History.Count - 1) "an earlier epoch than the last"
            Expect.equal lastState.EpochsDone r.History.Count "the hook's last state is the last epoch's"
            let now = bits (exec.Snapshot())
            Expect.equal now snapshots[k] "the executor holds the restored epoch's values"
            Expect.notEqual now (bits lastState.Values) "not the last epoch's"
        }
    ]
