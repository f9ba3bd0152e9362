/// Gradients summed in buckets (PyTorch DDP's) that start while the fused plan's backward pass runs, against the one
/// fused sum after the step: the same weights bit for bit (LocalCommunicator sums in rank order whatever the cut, so
/// the sum order is the same), for 2 and 3 ranks and bucket sizes from one gradient per bucket to all in one.
module Nn.Tests.Runtime.Distributed.GradientBucketsTests

open System
open System.Threading
open Expecto
open Nn.Runtime.Data
open Nn.Runtime.Distributed
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Tests
open Nn.Tests.Compiler.EmbeddingDistributedTests

let private compileExample (file: string) =
    match Compile.compileFile (IO.Path.Combine(TestUtil.repoRoot, "examples", file)) with
    | Result.Ok c -> c
    | Result.Error ds -> failtestf "%A" (ds |> List.map (fun d -> d.Message))

let private planOf (c: Compile.Compiled) (epochs: int) =
    let td, env = c.Trains.Head
    let e = match Nn.Dsl.Parser.parseExpr "--set" (string epochs) with
            | Result.Ok e -> e
            | Result.Error _ -> failtest "bad override"
    TrainPlan.create c (TrainPlan.withOverrides td [ "epochs", e ], env)

let private fused (g: StepGraphs) (v: Collections.Generic.Dictionary<string, HostTensor>) =
    Nn.Runtime.Executors.StepExecutor.Create(g, v, ExecutorOptions(Engine = "fused", Threads = 1))

/// N ranks as threads on the fused engine, summing as `buckets` says: each rank's final values and the number of
/// sums a step makes.
let private train (n: int) (file: string) (epochs: int) (buckets: BucketOptions) =
    let c = compileExample file
    let job = ThreadJob n
    let setups =
        [| for r in 0 .. n - 1 ->
            let plan = planOf c epochs
            plan, new DataParallelExecutor(plan.Graphs, job.Rank r, Func<_, _, _> fused, plan.Initial, buckets) |]
    try
        job.OnRanks(fun r ->
            let plan, dp = setups[r]
            Trainer.Fit(plan.Graphs, dp, plan.Train, Option.toObj plan.Validation,
                        TrainPlan.options plan.Config null null) |> ignore
            dp.Snapshot()),
        (snd setups[0]).Buckets
    finally
        for _, dp in setups do dp.Close()

let private identical (expected: Collections.Generic.Dictionary<string, HostTensor>)
                      (actual: Collections.Generic.Dictionary<string, HostTensor>) (what: string) =
    Expect.sequenceEqual (Seq.sort actual.Keys) (Seq.sort expected.Keys) (what + ": the same values")
    for KeyValue(name, t) in expected do
        Expect.sequenceEqual actual[name].Data t.Data (sprintf "%s: %s bit for bit" what name)

[<Tests>]
let tests =
    testList "Runtime.Distributed.GradientBuckets" [
        test "gradients go in the order they are final, into buckets closed once they reach their limit" {
            // 4 gradients of 10, 20, 30, 40 floats (40..160 bytes), final after kernels 5, 3, 3, 1: the order is
            // 3, 2, 1, 0 (a tie in reverse parameter order); first bucket 100 bytes, then 150
            let b = GradientBuckets([| 10; 20; 30; 40 |], [| 5; 3; 3; 1 |],
                                    BucketOptions(FirstBucketBytes = 100L, BucketBytes = 150L))
            Expect.sequenceEqual b.Order [| 3; 2; 1; 0 |] "order"
            Expect.sequenceEqual b.ReadyAfter [| 1; 3; 3; 5 |] "ready after"
            Expect.sequenceEqual b.Offsets [| 90; 70; 40; 0 |] "offsets"
            // [3] (160 ≥ 100), [2; 1] (120 < 150, 200 ≥ 150), [0] (the rest)
            Expect.equal b.Count 3 "buckets"
            Expect.equal (b.Range 0) struct (0, 40) "first bucket"
            Expect.equal (b.Range 1) struct (40, 50) "second bucket"
            Expect.equal (b.Range 2) struct (90, 10) "last bucket"
            Expect.equal b.Flat.Length 100 "every float once"
        }

        test "one fused sum is one bucket; 1 byte is one gradient per bucket; DDP's 25 MB holds a small net in one" {
            let sizes = [| 5; 7; 9 |]
            Expect.equal (GradientBuckets(sizes, [| 0; 0; 0 |], BucketOptions.Fused).Count) 1 "fused"
            Expect.equal (GradientBuckets(sizes, [| 0; 0; 0 |], BucketOptions.OfMegabytes 1e-9).Count) 3 "1 byte"
            Expect.equal (GradientBuckets(sizes, [| 0; 0; 0 |], BucketOptions()).Count) 1 "25 MB"
        }

        test "the fused plan finishes the last layer's gradients before the first layer's (iris: dense 16, dense 3)" {
            let plan = planOf (compileExample "iris.nn") 1
            let split = DataParallelStep.Of plan.Graphs
            let values = Collections.Generic.Dictionary<string, HostTensor>()
            for n in Seq.append split.Gradients.Params split.Gradients.States do
                values[n.Name] <- HostTensor.Zeros(n.Shape.Resolve(Collections.Generic.Dictionary()))
            let x = fused split.Gradients values :?> IGradientStream
            let names = split.Trainable |> Seq.map (fun p -> TrainStep.NewPrefix + DataParallelStep.GradPrefix + p.Name)
                        |> Array.ofSeq
            let shapes = split.Trainable |> Seq.map (fun p -> p.Shape.ToString()) |> Array.ofSeq
            let after = Array.zip shapes (x.FinalAfter names)
            // dense 16 has w [4, 16] and b [16]; dense 3 has w [16, 3] and b [3]
            let kernelsOf (layer: string list) =
                after |> Array.filter (fun (s, _) -> List.contains s layer) |> Array.map snd
            let first = kernelsOf [ "[4, 16]"; "[16]" ]
            let second = kernelsOf [ "[16, 3]"; "[3]" ]
            Expect.equal (first.Length, second.Length) (2, 2) (sprintf "%A: w and b of each layer" after)
            Expect.isLessThan (Array.max second) (Array.min first)
                (sprintf "%A: the second layer's gradients are final first" after)
        }

        for n in [ 2; 3 ] do
            test (sprintf "iris.nn on %d ranks: buckets overlapping the backward pass = one fused sum, bit for bit" n) {
                let expected, one = train n "iris.nn" 3 BucketOptions.Fused
                Expect.equal one 1 "the fused sum is one bucket"
                for what, options in
                    [ "DDP's 25 MB", BucketOptions()
                      "one gradient per bucket", BucketOptions.OfMegabytes 1e-9
                      "100-byte buckets", BucketOptions(FirstBucketBytes = 100L, BucketBytes = 100L)
                      "one gradient per bucket after the step",
                        BucketOptions(FirstBucketBytes = 1L, BucketBytes = 1L, Overlap = false) ] do
                    let actual, buckets = train n "iris.nn" 3 options
                    if what.StartsWith "one gradient" then Expect.equal buckets 4 "4 params, 4 buckets"
                    for r in 0 .. n - 1 do identical expected[r] actual[r] (sprintf "%s rank %d" what r)
            }

        test "a job aborted by another rank: the started sums' wait throws, with the abort's exit code" {
            let job = ThreadJob 2
            use t = new CommunicationThread(job.Rank 0)
            t.StartAllreduceSum(Array.zeroCreate 4, 0, 4) // rank 1 never joins this sum: it aborts
            try job.Rank(1).Abort 3 with :? CommunicatorAbortedException -> ()
            let e = Expect.throwsC (fun () -> t.WaitAll()) id
            match e with
            | :? CommunicatorAbortedException as a -> Expect.equal a.ExitCode 3 "the exit code"
            | other -> failtestf "not an abort: %O" other
            Expect.throwsT<CommunicatorAbortedException> (fun () -> t.Barrier()) "and every later call"
        }

        test "a blocking sum from the step's thread waits behind the sums already started, on every rank" {
            let job = ThreadJob 3
            let results =
                job.OnRanks(fun r ->
                    use t = new CommunicationThread(job.Rank r)
                    let buckets = Array.init 6 (fun i -> float32 (r + 1) * float32 (i + 1))
                    t.StartAllreduceSum(buckets, 0, 2)
                    t.StartAllreduceSum(buckets, 2, 3)
                    let stats = [| float (10 * (r + 1)) |] // as batchNorm's statistics, mid-plan
                    t.AllreduceSum(Span stats)
                    t.StartAllreduceSum(buckets, 5, 1)
                    t.WaitAll()
                    buckets, stats[0])
            for r in 0 .. 2 do
                let buckets, stats = results[r]
                // Σ over ranks of (r+1)·(i+1) = 6·(i+1); Σ 10·(r+1) = 60
                Expect.sequenceEqual buckets (Array.init 6 (fun i -> 6.f * float32 (i + 1))) "the buckets' sums"
                Expect.equal stats 60.0 "the blocking sum"
        }
    ]
