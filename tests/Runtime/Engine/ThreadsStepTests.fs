/// Training steps of issue #18's networks on 1 and on 2 threads: the same weights and losses bit for bit, step after
/// step, with every way the step splits over two threads taken (a weight's columns kept by one thread, the packed A
/// blocks shared, narrow products and fused loops split, the SGD update inside the weight gradient's product).
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

let private trainBoth (layers: int list) (batch: int) (steps: int) =
    let graphs = network layers
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
    ]
