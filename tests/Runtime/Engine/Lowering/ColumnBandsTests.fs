/// Which values a step bound on two threads stores as column bands (ColumnBands): the hidden layer under a classifier
/// (its activations, their gradient and the relu's), none on one thread, none when off, none in a deep network whose
/// hidden layers feed packed products (a banded A there would need its sums split), and the same results bit for bit
/// with and without bands, in training, evaluation and prediction.
module Nn.Tests.Runtime.Engine.Lowering.ColumnBandsTests

open System
open Expecto
open Nn.Runtime
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Engine
open Nn.Runtime.Engine.Lowering
open Nn.Runtime.Executors

let private sameBits = Nn.Tests.Runtime.Engine.StepNetworks.sameBits "without bands" "with bands"

let private batch rng rows features classes = Nn.Tests.Runtime.Engine.StepNetworks.randomBatch rng rows features classes

let private executor layers threads = Nn.Tests.Runtime.Engine.StepNetworks.executorOn layers threads

/// `f ()` with the bands off (read when a program is first bound for a batch size).
let private unbanded f = Nn.Tests.Runtime.Engine.StepNetworks.switchedOn (fun on -> ColumnBands.Off <- on) f

[<Tests>]
let tests =
    testList "Runtime.Engine.Lowering.ColumnBands" [
        test "784-256-10 at batch 64 on 2 threads: the hidden layer's activations and gradients in bands" {
            let x, y = batch (Random 1) 64 784 10
            Expect.equal ((executor [ 784; 256; 10 ] 2).Banded(x, y)) 3 "h, dh and dz (relu's gradient)"
        }
        test "on 1 thread, or with bands off, or under 32 rows: none" {
            let x, y = batch (Random 1) 64 784 10
            Expect.equal ((executor [ 784; 256; 10 ] 1).Banded(x, y)) 0 "1 thread"
            Expect.equal (unbanded (fun () -> (executor [ 784; 256; 10 ] 2).Banded(x, y))) 0 "off"
            let x, y = batch (Random 1) 16 784 10
            Expect.equal ((executor [ 784; 256; 10 ] 2).Banded(x, y)) 0 "16 rows"
        }
        test "a hidden layer whose columns are not two bands of whole panels (784-96-10): none" {
            let x, y = batch (Random 1) 64 784 10
            Expect.equal ((executor [ 784; 96; 10 ] 2).Banded(x, y)) 0 "96 columns"
        }
        test "784-1024-1024-10 at batch 256: none (each hidden layer feeds a packed product or has large weights)" {
            let x, y = batch (Random 1) 256 784 10
            Expect.equal ((executor [ 784; 1024; 1024; 10 ] 2).Banded(x, y)) 0 "deep"
        }
        test "784-256-10 on 2 threads: training, evaluation and prediction give the bits of the step without bands" {
            let banded, plain = executor [ 784; 256; 10 ] 2, executor [ 784; 256; 10 ] 2
            let rng = Random 5
            for s in 1 .. 4 do
                let x, y = batch rng 64 784 10
                let a = unbanded (fun () -> plain.Step(x, y, 0.05, int64 s, 1UL))
                let b = banded.Step(x, y, 0.05, int64 s, 1UL)
                sameBits (sprintf "loss of step %d" s) [| float32 a.Loss |] [| float32 b.Loss |]
            let x, y = batch rng 100 784 10
            let a, b = unbanded (fun () -> plain.Evaluate(x, y)), banded.Evaluate(x, y)
            sameBits "evaluation loss" [| float32 a.Loss |] [| float32 b.Loss |]
            let p, q = unbanded (fun () -> plain.Predict x), banded.Predict x
            sameBits "prediction" p.Data q.Data
            let values = banded.Snapshot()
            for kv in plain.Snapshot() do sameBits kv.Key kv.Value.Data values[kv.Key].Data
        }
    ]
