/// Training steps of issue #18's networks on 1 and on 2 threads: the same weights and losses bit for bit, step after
/// step, with every way the step splits over two threads taken (a weight's columns kept by one thread, the packed A
/// blocks shared, narrow products and fused loops split, the SGD update inside the weight gradient's product, the
/// hidden layer's values in column bands and the backward's band kernels run as one job).
module Nn.Tests.Runtime.Engine.ThreadsStepTests

open System
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Ops
open Nn.Runtime.Engine
open Nn.Runtime.Executors

let private sp = SourceSpan.None

let private network = StepNetworks.network

let private sameBits = StepNetworks.sameBits "1 thread" "2 threads"

let private trainScaledBoth (scale: bool) (layers: int list) (batch: int) (steps: int) =
    let graphs = StepNetworks.networkOf scale layers
    let init = Initializers.ForGraph(graphs.Train, 1UL)
    let one = StepExecutor.Create(graphs, init, ExecutorOptions(Threads = 1)) :?> FusedExecutor
    let two = StepExecutor.Create(graphs, init, ExecutorOptions(Threads = 2)) :?> FusedExecutor
    let rng = Random 7
    for s in 1 .. steps do
        let features = Array.init (batch * layers.Head) (fun _ -> float32 (rng.NextDouble()))
        let x = HostTensor([| batch; layers.Head |], features)
        let y = HostTensor([| batch |], Array.init batch (fun _ -> float32 (rng.Next(List.last layers))))
        let a, b = one.Step(x, y, 0.05, int64 s, 1UL), two.Step(x, y, 0.05, int64 s, 1UL)
        sameBits (sprintf "loss of step %d" s) [| float32 a.Loss |] [| float32 b.Loss |]
        if s = 1 then
            Expect.isGreaterThan (two.UpdatesInProducts(x, y)) 0 "an SGD update inside its weight gradient's product"
    let twoValues = two.Snapshot()
    for kv in one.Snapshot() do sameBits kv.Key kv.Value.Data twoValues[kv.Key].Data
    two

let private trainBoth layers batch steps = trainScaledBoth false layers batch steps |> ignore

[<Tests>]
let tests =
    testList "Runtime.Engine.Threads" [
        test "784-256-10 at batch 64, 6 steps: 1 and 2 threads give the same bits" { trainBoth [ 784; 256; 10 ] 64 6 }
        test "784-256-10 at batch 64, 80 steps switching between 1 and 2 threads (StepThreads): the bits of 1 thread" {
            // 64 steps on two threads, a probe (5 steps on two, 5 on one), then 6 on the side the probe chose
            StepThreads.Always <- true
            try trainBoth [ 784; 256; 10 ] 64 80
            finally StepThreads.Always <- false
        }
        test "784-1024-1024-10 at batch 256, 3 steps: 1 and 2 threads give the same bits" {
            trainBoth [ 784; 1024; 1024; 10 ] 256 3 }
        test "784-256-10 at a last batch of 37 rows: 1 and 2 threads give the same bits" {
            trainBoth [ 784; 256; 10 ] 37 3 }
        test "pixels / 255 then 784-256-10 at batch 64: the scaled pixels streamed on 2 threads, the bits of 1 thread" {
            // the loop's value is read only as the products' A (both threads read all of it): non-temporal stores
            let two = trainScaledBoth true [ 784; 256; 10 ] 64 4
            let x, y = HostTensor.Zeros(64, 784), HostTensor.Zeros 64
            Expect.equal (two.StreamedStoreCount(x, y)) 1 "the scaled pixels, and nothing else, stream"
        }
        test "pixels / 255 then 784-256-10 at batch 64, 2 threads: streamed and ordinary stores give the same bits" {
            let graphs = StepNetworks.networkOf true [ 784; 256; 10 ]
            let init = Initializers.ForGraph(graphs.Train, 1UL)
            let make () = StepExecutor.Create(graphs, init, ExecutorOptions(Threads = 2)) :?> FusedExecutor
            let zx, zy = HostTensor.Zeros(64, 784), HostTensor.Zeros 64
            let streamed, plain = make (), make ()
            // the choice is made when a step is bound for its batch size
            Expect.equal (streamed.StreamedStoreCount(zx, zy)) 1 "the scaled pixels stream"
            Lowering.StreamedStores.Off <- true
            try Expect.equal (plain.StreamedStoreCount(zx, zy)) 0 "StreamedStores.Off: nothing streams"
            finally Lowering.StreamedStores.Off <- false
            let rng = Random 3
            for s in 1 .. 4 do
                let x = HostTensor([| 64; 784 |], Array.init (64 * 784) (fun _ -> float32 (rng.Next 256)))
                let y = HostTensor([| 64 |], Array.init 64 (fun _ -> float32 (rng.Next 10)))
                let a, b = plain.Step(x, y, 0.05, int64 s, 1UL), streamed.Step(x, y, 0.05, int64 s, 1UL)
                StepNetworks.sameBits "ordinary" "streamed" (sprintf "loss of step %d" s) [| float32 a.Loss |]
                    [| float32 b.Loss |]
            let values = streamed.Snapshot()
            for kv in plain.Snapshot() do
                StepNetworks.sameBits "ordinary" "streamed" kv.Key kv.Value.Data values[kv.Key].Data
        }
    ]
