/// Data parallelism without mpirun: N ranks as N threads of this process (the runtime's LocalCommunicator, summing in
/// rank order), each with its DataParallelExecutor on the reference interpreter (and the fused engine for batchNorm),
/// against one process training the same program: the same losses, metrics and weights within float32 rounding,
/// dropout included (masks drawn by global row), batchNorm too (statistics summed across the ranks), every rank's share
/// of each batch (a rank with no rows of a small last batch included).
module Nn.Tests.Runtime.Distributed.DataParallelTests

open System
open System.Threading
open Expecto
open Nn.Runtime.Data
open Nn.Runtime.Distributed
open Nn.Runtime.Execution
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Tests
open Nn.Tests.Compiler.EmbeddingDistributedTests

/// A classifier with dropout on 14 rows in batches of 6: the last batch has 2 rows, so of 3 ranks one has none.
let private dropoutProgram =
    """
let dense units (x: [n, k]) =
    param w : [k, units] = glorot
    param b : [units] = zeros
    x @ w + b

network net (x: [n, 3]) : [n, 2] =
    x |> dense 16 |> relu |> dropout 0.3 |> dense 2

train net {
    data      = rows [ [0.1; 0.9; 0.3], 0
                       [0.8; 0.2; 0.5], 1
                       [0.4; 0.4; 0.9], 1
                       [0.9; 0.1; 0.1], 0
                       [0.3; 0.7; 0.6], 1
                       [0.2; 0.5; 0.8], 0
                       [0.6; 0.3; 0.2], 1
                       [0.7; 0.9; 0.4], 0
                       [0.5; 0.6; 0.7], 1
                       [0.1; 0.2; 0.3], 0
                       [0.9; 0.8; 0.7], 1
                       [0.3; 0.1; 0.9], 0
                       [0.6; 0.6; 0.1], 1
                       [0.2; 0.9; 0.5], 0 ]
    loss      = softmaxCrossEntropy
    metrics   = [accuracy]
    optimizer = adam { lr = 0.01 }
    batch     = 6
    epochs    = 6
    seed      = 3
}
"""

/// batchNorm and dropout, 16 rows in batches of 7: shares of 3 + 4 rows (2 ranks) and 2 + 2 + 3 (3 ranks), and a last
/// batch of 2 rows, which 3 ranks each run whole (a share of no rows cannot take part in batchNorm's sums). No bias
/// before batchNorm: its gradient is 0 but for rounding, which adam would turn into steps of lr in any direction.
let private batchNormProgram =
    dropoutProgram
        .Replace("network net",
                 "let linear units (x: [n, k]) =\n    param w : [k, units] = glorot\n    x @ w\n\nnetwork net")
        .Replace("x |> dense 16 |> relu |> dropout 0.3 |> dense 2",
                 "x |> linear 16 |> batchNorm |> relu |> dropout 0.3 |> dense 2")
        .Replace("[0.2; 0.9; 0.5], 0 ]", "[0.2; 0.9; 0.5], 0\n                       [0.4; 0.1; 0.6], 1\n"
                 + "                       [0.8; 0.5; 0.3], 0 ]")
        .Replace("batch     = 6", "batch     = 7")

let private planOf (c: Compile.Compiled) (sets: (string * string) list) =
    let td, env = c.Trains.Head
    let overrides =
        sets |> List.map (fun (k, v) ->
            match Nn.Dsl.Parser.parseExpr "--set" v with
            | Result.Ok e -> k, e
            | Result.Error _ -> failtest "bad override")
    TrainPlan.create c (TrainPlan.withOverrides td overrides, env)

let private compileText (text: string) =
    TestUtil.withTempDir "nn-dp-" (fun dir ->
        let file = IO.Path.Combine(dir, "net.nn")
        IO.File.WriteAllText(file, text)
        match Compile.compileFile file with
        | Result.Ok c -> c
        | Result.Error ds -> failtestf "%A" (ds |> List.map (fun d -> d.Message)))

let private compileExample (file: string) =
    match Compile.compileFile (IO.Path.Combine(TestUtil.repoRoot, "examples", file)) with
    | Result.Ok c -> c
    | Result.Error ds -> failtestf "%A" (ds |> List.map (fun d -> d.Message))

/// One process: the history and final values.
let private single (c: Compile.Compiled) sets =
    let plan = planOf c sets
    let exec = ReferenceExecutor(plan.Graphs, plan.Initial) :> IStepExecutor
    let options = TrainPlan.options plan.Config null null
    let r = Trainer.Fit(plan.Graphs, exec, plan.Train, Option.toObj plan.Validation, options)
    r, exec.Snapshot()

/// One process on the fused engine.
let private singleFused (c: Compile.Compiled) sets =
    let plan = planOf c sets
    let exec = Nn.Runtime.Engine.FusedExecutor(plan.Graphs, plan.Initial) :> IStepExecutor
    let options = TrainPlan.options plan.Config null null
    let r = Trainer.Fit(plan.Graphs, exec, plan.Train, Option.toObj plan.Validation, options)
    r, exec.Snapshot()

/// N ranks as threads: each rank's history and final values.
let rec private ranks (n: int) (c: Compile.Compiled) sets = ranksOn false n c sets

/// N ranks as threads, each on the fused engine or the reference interpreter.
and private ranksOn (fused: bool) (n: int) (c: Compile.Compiled) sets =
    let job = ThreadJob n
    // the executors are made one after the other (the compiler's evaluation builds their graphs), then run together
    let setups =
        [| for r in 0 .. n - 1 ->
            let plan = planOf c sets
            let create (g: StepGraphs) (v: Collections.Generic.Dictionary<string, HostTensor>) =
                if fused then Nn.Runtime.Engine.FusedExecutor(g, v) :> IStepExecutor
                else ReferenceExecutor(g, v) :> IStepExecutor
            plan, DataParallelExecutor(plan.Graphs, job.Rank r, Func<_, _, _> create, plan.Initial) |]
    job.OnRanks(fun r ->
        let plan, dp = setups[r]
        let res = Trainer.Fit(plan.Graphs, dp, plan.Train, Option.toObj plan.Validation,
                              TrainPlan.options plan.Config null null)
        res, dp.Snapshot())

/// Float32 rounding over a few epochs: a relative 1e-4 (about 800 ulps: sums in another order at every step, carried
/// through the updates), and 1e-6 absolute for values near 0.
let private close (what: string) (expected: float) (actual: float) =
    let tol = 1e-4 * abs expected + 1e-6
    if abs (actual - expected) > tol then failtestf "%s: %g with ranks, %g in one process" what actual expected

let private same (one: TrainResult, oneValues: Collections.Generic.Dictionary<string, HostTensor>)
                 (many: (TrainResult * Collections.Generic.Dictionary<string, HostTensor>)[]) =
    for rank, (r, values) in Array.indexed many do
        Expect.equal r.History.Count one.History.Count "epochs"
        for a, b in Seq.zip one.History r.History do
            close (sprintf "rank %d epoch %d loss" rank (a.Epoch + 1)) a.TrainLoss b.TrainLoss
            for KeyValue(m, v) in a.Metrics do close (sprintf "rank %d %s" rank m) v b.Metrics[m]
            if a.ValidationLoss.HasValue then
                close (sprintf "rank %d val loss" rank) a.ValidationLoss.Value b.ValidationLoss.Value
        Expect.sequenceEqual (Seq.sort values.Keys) (Seq.sort oneValues.Keys) "the same values"
        for KeyValue(name, t) in oneValues do
            let mine = values[name].Data
            t.Data |> Array.iteri (fun i x -> close (sprintf "rank %d %s[%d]" rank name i) (float x) (float mine[i]))
    // every rank holds the same bits
    let first = snd many[0]
    for _, values in many do
        for KeyValue(name, t) in values do
            Expect.sequenceEqual t.Data first[name].Data (sprintf "%s is the same on every rank" name)

[<Tests>]
let tests =
    testList "Runtime.Distributed.DataParallel" [
        test "a share is rows [size·rank/N, size·(rank+1)/N): the ranks cover the batch in order" {
            for size in 0 .. 20 do
                for n in 1 .. 5 do
                    let shares = [ for r in 0 .. n - 1 -> DataParallelExecutor.ShareOf(size, r, n) ]
                    let rows = shares |> List.collect (fun struct (f, k) -> [ f .. f + k - 1 ])
                    Expect.equal rows [ 0 .. size - 1 ] (sprintf "%d rows over %d ranks" size n)
                    let counts = shares |> List.map (fun struct (_, k) -> k)
                    Expect.isLessThanOrEqual (List.max counts - List.min counts) 1 "as even as can be"
        }

        for n in [ 2; 3 ] do
            test (sprintf "xor.nn on %d ranks = one process" n) {
                let c = compileExample "xor.nn"
                same (single c [ "epochs", "30" ]) (ranks n c [ "epochs", "30" ])
            }

            test (sprintf "iris.nn (validation, clipping, adam) on %d ranks = one process" n) {
                let c = compileExample "iris.nn"
                same (single c [ "epochs", "3" ]) (ranks n c [ "epochs", "3" ])
            }

            test (sprintf "dropout on %d ranks = one process (masks by global row, a rank without rows)" n) {
                let c = compileText dropoutProgram
                same (single c []) (ranks n c [])
            }

            test (sprintf "batchNorm (statistics across ranks) and dropout on %d ranks = one process" n) {
                let c = compileText batchNormProgram
                same (single c []) (ranks n c [])
            }

            test (sprintf "batchNorm and dropout on %d ranks on the fused engine = one process" n) {
                let c = compileText batchNormProgram
                same (singleFused c []) (ranksOn true n c [])
            }

        test "ranks whose weights differ after an epoch stop with NN0800 (a rank started from another seed)" {
            let c = compileExample "xor.nn"
            let job = ThreadJob 2
            let setups =
                [| for r in 0 .. 1 ->
                    let plan = planOf c [ "epochs", "2"; "seed", string (r + 1) ]
                    let create (g: StepGraphs) (v: Collections.Generic.Dictionary<string, HostTensor>) =
                        ReferenceExecutor(g, v) :> IStepExecutor
                    plan, DataParallelExecutor(plan.Graphs, job.Rank r, Func<_, _, _> create, plan.Initial) |]
            let codes = Collections.Concurrent.ConcurrentBag<string>()
            let threads =
                setups |> Array.map (fun (plan, dp) ->
                    Thread(fun () ->
                        try
                            Trainer.Fit(plan.Graphs, dp, plan.Train, null, TrainPlan.options plan.Config null null)
                            |> ignore
                        with :? DataParallelException as e -> codes.Add e.Code))
            for t in threads do t.Start()
            for t in threads do t.Join()
            Expect.sequenceEqual (Seq.sort codes) [ "NN0800"; "NN0800" ] "every rank stops with NN0800"
        }

        test "classWeights is refused (NN0801): its loss divides by the batch's weights" {
            let weighted = dropoutProgram.Replace("batch     = 6", "batch     = 6\n    classWeights = [1.0; 2.0]")
            let c = compileText weighted
            let plan = planOf c []
            let create (g: StepGraphs) (v: Collections.Generic.Dictionary<string, HostTensor>) =
                ReferenceExecutor(g, v) :> IStepExecutor
            try
                DataParallelExecutor(plan.Graphs, (ThreadJob 1).Rank 0, Func<_, _, _> create, plan.Initial) |> ignore
                failtest "accepted"
            with :? DataParallelException as e -> Expect.equal e.Code "NN0801" "the code"
        }
    ]
