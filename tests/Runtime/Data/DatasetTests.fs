module Nn.Tests.Runtime.Data.DatasetTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Nn.Runtime.Data
open Nn.Runtime.Util

let private dataError f = Nn.Tests.TestUtil.dataError f

/// n rows of two features (10·i, 10·i + 1) with target i, so every row says which row it was.
let private numbered n =
    Dataset(HostTensor([| n; 2 |], Array.init (2 * n) (fun k -> float32 (10 * (k / 2) + k % 2))),
            HostTensor([| n |], Array.init n float32))

/// All (row indices, sizes) of one epoch.
let private epoch (it: BatchIterator) =
    it.StartEpoch()
    [ while it.MoveNext() do yield it.CurrentRows.ToArray(), it.CurrentSize ]

/// Runs `epochs` epochs outside a computation expression (whose `while` would allocate closures);
/// returns the rows seen and the bytes this thread allocated meanwhile.
let private runEpochs (it: BatchIterator) epochs =
    let before = GC.GetAllocatedBytesForCurrentThread()
    let mutable rows = 0
    let mutable e = 0
    while e < epochs do
        it.StartEpoch()
        while it.MoveNext() do rows <- rows + it.CurrentSize
        e <- e + 1
    rows, GC.GetAllocatedBytesForCurrentThread() - before

let private config = { FsCheckConfig.defaultConfig with maxTest = 100 }

/// Row counts, batch sizes and seeds for the batching property.
let private batchCases = Arb.fromGen (Gen.zip3 (Gen.choose (0, 200)) (Gen.choose (1, 50)) (Gen.choose (0, 1000)))

[<Tests>]
let tests =
    testList "Runtime.Data.Dataset" [
        test "split keeps the first rows for training and the last fraction for validation, in order" {
            let struct (train, valid) = (numbered 10).Split 0.2
            Expect.equal train.Targets.Data [| 0.0f .. 7.0f |] "train rows 0..7"
            Expect.equal valid.Targets.Data [| 8.0f; 9.0f |] "validation rows 8, 9"
            Expect.equal valid.Features.Data [| 80.0f; 81.0f; 90.0f; 91.0f |] "features travel with their rows"
            let struct (t, v) = (numbered 150).Split 0.3
            Expect.equal (t.Count, v.Count) (105, 45) "iris-sized split"
            let struct (all, none) = (numbered 5).Split 0.0
            Expect.equal (all.Count, none.Count) (5, 0) "no validation"
        }
        test "a validation fraction outside [0, 1) is refused" {
            let e = dataError (fun () -> (numbered 4).Split 1.0)
            Expect.equal (e.Code, e.Message) ("NN0541", "validation must be a fraction in [0, 1), not 1") "1.0"
            let e2 = dataError (fun () -> (numbered 1).Split 0.9)
            Expect.equal e2.Message "validation = 0.9 of 1 rows leaves no rows to train on" "nothing left"
        }
        test "shuffling is a permutation determined by the seed" {
            let d = numbered 50
            let a = d.Shuffle(Rng 7UL)
            let b = d.Shuffle(Rng 7UL)
            let c = d.Shuffle(Rng 8UL)
            Expect.equal a.Targets.Data b.Targets.Data "same seed, same order"
            Expect.notEqual a.Targets.Data c.Targets.Data "another seed, another order"
            Expect.equal (Array.sort a.Targets.Data) d.Targets.Data "a permutation"
            for i in 0 .. 49 do
                Expect.equal (a.Features.Row(i).[0]) (10.0f * a.Targets.Data.[i]) "features stay with their targets"
        }
        test "batches cover the rows in order with a partial last batch" {
            let it = BatchIterator(numbered 10, 4)
            Expect.equal it.BatchesPerEpoch 3 "batches"
            let batches = epoch it
            Expect.equal batches [ [| 0; 1; 2; 3 |], 4; [| 4; 5; 6; 7 |], 4; [| 8; 9 |], 2 ] "rows and sizes"
            it.StartEpoch()
            it.MoveNext() |> ignore
            it.MoveNext() |> ignore
            it.MoveNext() |> ignore
            Expect.equal it.Features.[0..3] [| 80.0f; 81.0f; 90.0f; 91.0f |] "last batch features"
            Expect.equal it.Targets.[0..1] [| 8.0f; 9.0f |] "last batch targets"
            Expect.equal (it.FeatureShape, it.TargetShape) ([| 4; 2 |], [| 4 |]) "full batch shapes"
            Expect.isFalse (it.MoveNext()) "the epoch is over"
        }
        test "shuffled epochs differ from each other and repeat with the seed" {
            let a = BatchIterator(numbered 30, 8, Rng 1UL)
            let b = BatchIterator(numbered 30, 8, Rng 1UL)
            let a1, a2 = epoch a, epoch a
            Expect.notEqual a1 a2 "each epoch draws a new order"
            Expect.equal (epoch b, epoch b) (a1, a2) "same seed, same epochs"
        }
        test "batches allocate nothing" {
            let it = BatchIterator(numbered 1000, 32, Rng 3UL)
            runEpochs it 1 |> ignore
            let rows, allocated = runEpochs it 10
            Expect.equal rows 10000 "all rows, ten times"
            // Under the test runner a few bytes appear once (tiered JIT bookkeeping); any per-batch allocation
            // would be at least 24 bytes × 320 batches.
            Expect.isLessThan allocated 320L "bytes allocated during ten epochs (320 batches)"
        }
        test "a dataset without targets has empty target buffers" {
            let it = BatchIterator(Dataset(HostTensor.Zeros(3, 2, 2), null), 2)
            let batches = epoch it
            Expect.equal (batches |> List.map snd) [ 2; 1 ] "sizes"
            Expect.equal (it.Targets.Length, it.FeatureShape) (0, [| 2; 2; 2 |]) "no targets"
        }
        test "a batch size below 1 is refused" {
            let e = dataError (fun () -> BatchIterator(numbered 3, 0))
            Expect.equal (e.Code, e.Message) ("NN0541", "batch must be a positive number of rows, not 0") "message"
        }
        testPropertyWithConfig config "every row is in exactly one batch per epoch" <|
            Prop.forAll batchCases (fun (n, batch, seed) ->
                let it = BatchIterator(numbered n, batch, Rng(uint64 seed))
                [ 1; 2 ] |> List.forall (fun _ ->
                    let batches = epoch it
                    let rows = batches |> List.collect (fst >> List.ofArray)
                    List.sort rows = [ 0 .. n - 1 ]
                    && batches |> List.forall (fun (_, size) -> size = batch || size = n % batch)
                    && batches.Length = it.BatchesPerEpoch))
        test "one-hot encodes class indices and refuses labels outside the classes" {
            let t = Labels.OneHot(HostTensor([| 3 |], [| 2.0f; 0.0f; 1.0f |]), 3)
            Expect.equal t.Shape [| 3; 3 |] "shape"
            Expect.equal t.Data [| 0.0f; 0.0f; 1.0f; 1.0f; 0.0f; 0.0f; 0.0f; 1.0f; 0.0f |] "values"
            let e = dataError (fun () -> Labels.OneHot(HostTensor([| 2 |], [| 1.0f; 3.0f |]), 3))
            Expect.equal (e.Code, e.Message) ("NN0540", "row 2: label 3 is not a class index in 0..2") "out of range"
            let f = dataError (fun () -> Labels.OneHot(HostTensor([| 1 |], [| 0.5f |]), 3))
            Expect.equal f.Message "row 1: label 0.5 is not a class index in 0..2" "fractional"
        }
    ]
