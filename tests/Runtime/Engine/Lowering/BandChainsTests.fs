/// Kernels over column bands run as one job (BandChains): the 784-256-10 step's hidden layer (its product and the
/// logits' halves, added after the run) is one run on two threads, its backward another; the runs give the bits of
/// the same kernels run one by one, and their checks still see a non-finite update (the step then changes nothing).
module Nn.Tests.Runtime.Engine.Lowering.BandChainsTests

open System
open Expecto
open Nn.Runtime
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Engine
open Nn.Runtime.Engine.Lowering
open Nn.Runtime.Kernels
open Nn.Runtime.Executors

let private sameBits = Nn.Tests.Runtime.Engine.StepNetworks.sameBits "kernel by kernel" "as one run"

let private batch rng rows = Nn.Tests.Runtime.Engine.StepNetworks.randomBatch rng rows 784 10

let private executor () = Nn.Tests.Runtime.Engine.StepNetworks.executorOn [ 784; 256; 10 ] 2

/// `f ()` with the runs off (read when a step is first bound for a batch size).
let private unchained f = Nn.Tests.Runtime.Engine.StepNetworks.switchedOn (fun on -> BandChains.Off <- on) f

[<Tests>]
let tests =
    testList "Runtime.Engine.Lowering.BandChains" [
        test "784-256-10 at batch 64 and 37 on 2 threads: the hidden layer's forward is one run, its backward one" {
            for rows in [ 64; 37 ] do
                let x, y = batch (Random 1) rows
                Expect.equal ((executor ()).Chains(x, y)) 2 (sprintf "batch %d" rows)
                Expect.equal (unchained (fun () -> (executor ()).Chains(x, y))) 0 "off"
        }
        test "784-256-10 on 2 threads: the run gives the bits of its kernels one by one, and alone (one thread)" {
            let chained, plain = executor (), executor ()
            let rng = Random 9
            for s in 1 .. 5 do
                let x, y = batch rng 64
                let a = unchained (fun () -> plain.Step(x, y, 0.05, int64 s, 1UL))
                let b =
                    if s % 2 = 0 then chained.Step(x, y, 0.05, int64 s, 1UL)
                    else
                        WorkerPool.Solo <- true // the run's parts in turn on this thread
                        try chained.Step(x, y, 0.05, int64 s, 1UL) finally WorkerPool.Solo <- false
                sameBits (sprintf "loss of step %d" s) [| float32 a.Loss |] [| float32 b.Loss |]
            let values = chained.Snapshot()
            for kv in plain.Snapshot() do sameBits kv.Key kv.Value.Data values[kv.Key].Data
        }
        test "an infinite learning rate, the weights' updates inside the run: named, and nothing changes" {
            let chained = executor ()
            let x, y = batch (Random 2) 64
            chained.Step(x, y, 0.05, 1L, 1UL) |> ignore
            let before = chained.Snapshot()
            let overflow () = chained.Step(x, y, Double.PositiveInfinity, 2L, 1UL) |> ignore
            Expect.throwsT<NonFiniteException> overflow "overflow"
            for kv in chained.Snapshot() do Expect.equal kv.Value.Data before[kv.Key].Data $"{kv.Key} unchanged"
        }
    ]
