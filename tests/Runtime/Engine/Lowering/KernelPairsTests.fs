/// Small independent kernels run at once, one per thread (KernelPairs): which neighbours pair, that a pair runs both
/// kernels (on two threads when the pool has them, in turn otherwise), and that a training step with pairs gives the
/// bits of the same step without them.
module Nn.Tests.Runtime.Engine.Lowering.KernelPairsTests

open System
open System.Threading
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Ops
open Nn.Runtime.Engine
open Nn.Runtime.Engine.Lowering
open Nn.Runtime.Engine.Planning
open Nn.Runtime.Kernels
open Nn.Runtime.Executors

let private sp = SourceSpan.None

/// Three products over inputs a, b, c: p = a·b, q = a·c, r = p·c (r reads p).
let private products () =
    let g = GraphBuilder()
    let a = g.Input("a", Shape.Of(4, 4), sp)
    let b = g.Input("b", Shape.Of(4, 4), sp)
    let c = g.Input("c", Shape.Of(4, 4), sp)
    let p = g.MatMul(a, b, sp)
    let q = g.MatMul(a, c, sp)
    let r = g.MatMul(p, c, sp)
    let gemm (out: Node) (x: Node) (y: Node) =
        GemmKernel(out, x, false, y, false, null, Activation.Identity, out, [||]) :> PlanKernel
    let slots = Array.init (r.Id + 1) id // every value its own slot
    gemm p a b, gemm q a c, gemm r p c, slots, (a, p, q)

let private sameBits = Nn.Tests.Runtime.Engine.StepNetworks.sameBits "without pairs" "with pairs"

[<Tests>]
let tests =
    testList "Runtime.Engine.Lowering.KernelPairs" [
        test "products that share only what they read are independent" {
            let p, q, _, slots, _ = products ()
            Expect.isTrue (KernelPairs.Independent(p, q, slots)) "a·b and a·c both read a"
        }
        test "a product that reads the other's result is not independent, in either order" {
            let p, _, r, slots, _ = products ()
            Expect.isFalse (KernelPairs.Independent(p, r, slots)) "p·c reads p"
            Expect.isFalse (KernelPairs.Independent(r, p, slots)) "the writer second"
        }
        test "a slot reused for another value counts as shared" {
            let p, q, _, slots, (an, pn, qn) = products ()
            let reused = Array.copy slots
            reused[qn.Id] <- slots[pn.Id] // q stored where p is: the two would write one buffer
            Expect.isFalse (KernelPairs.Independent(p, q, reused)) "both write one slot"
            let overwritesInput = Array.copy slots
            overwritesInput[qn.Id] <- slots[an.Id] // q stored over a, which p reads
            Expect.isFalse (KernelPairs.Independent(p, q, overwritesInput)) "q overwrites p's operand"
        }
        test "a pair runs both kernels: on two threads at once when the pool has two, in turn alone" {
            let seen = Collections.Concurrent.ConcurrentBag<int * int>()
            let pair = KernelPair((fun () -> seen.Add((1, Thread.CurrentThread.ManagedThreadId))),
                                  (fun () -> seen.Add((2, Thread.CurrentThread.ManagedThreadId))))
            pair.Run()
            let ran = seen.ToArray() |> Array.sortBy fst
            Expect.sequenceEqual (Array.map fst ran) [| 1; 2 |] "each kernel once"
            Expect.equal (snd ran[0]) Thread.CurrentThread.ManagedThreadId "the first on the calling thread"
            if WorkerPool.Shared.MaxThreads > 1 then
                Expect.notEqual (snd ran[1]) (snd ran[0]) "the second on the worker"
            seen.Clear()
            WorkerPool.Solo <- true
            try pair.Run()
            finally WorkerPool.Solo <- false
            Expect.equal (seen.ToArray() |> Array.map snd |> Array.distinct) [| Thread.CurrentThread.ManagedThreadId |]
                "alone: both on the calling thread"
        }
        test "an exception in the worker's kernel reaches the caller" {
            let pair = KernelPair((fun () -> ()), (fun () -> invalidOp "second kernel failed"))
            Expect.throwsT<InvalidOperationException> (fun () -> pair.Run()) "rethrown"
        }
        test "784-256-10 at batch 64 on 2 threads without column bands: the last layer's gradients pair, same bits" {
            let graphs = Nn.Tests.Runtime.Engine.StepNetworks.network [ 784; 256; 10 ]
            let init = Initializers.ForGraph(graphs.Train, 1UL)
            let without = StepExecutor.Create(graphs, init, ExecutorOptions(Threads = 2)) :?> FusedExecutor
            // bound without column bands (with them, the two products run band by band in one job: BandChains)
            let unbanded pairs f =
                ColumnBands.Off <- true
                KernelPairs.Off <- not pairs // read when a step is first bound for a batch size
                try f () finally KernelPairs.Off <- false; ColumnBands.Off <- false
            let paired = StepExecutor.Create(graphs, init, ExecutorOptions(Threads = 2)) :?> FusedExecutor
            let rng = Random 3
            for s in 1 .. 5 do
                let x = HostTensor([| 64; 784 |], Array.init (64 * 784) (fun _ -> float32 (rng.NextDouble())))
                let y = HostTensor([| 64 |], Array.init 64 (fun _ -> float32 (rng.Next 10)))
                let a = unbanded false (fun () -> without.Step(x, y, 0.05, int64 s, 1UL))
                let b = unbanded true (fun () -> paired.Step(x, y, 0.05, int64 s, 1UL))
                sameBits (sprintf "loss of step %d" s) [| float32 a.Loss |] [| float32 b.Loss |]
                if s = 1 then
                    Expect.equal (unbanded false (fun () -> without.PairsBound(x, y))) 0 "no pairs when off"
                    Expect.isGreaterThan (unbanded true (fun () -> paired.PairsBound(x, y))) 0 "dY·W2ᵀ with Hᵀ·dY"
            let values = paired.Snapshot()
            for kv in without.Snapshot() do sameBits kv.Key kv.Value.Data values[kv.Key].Data
        }
    ]
