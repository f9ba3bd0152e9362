module Nn.Tests.Runtime.Data.DatasetTests

open Expecto
open Nn.Runtime.Data
open Nn.Runtime.Util

let private dataError f = Nn.Tests.TestUtil.dataError f

/// n rows of two features (10·i, 10·i + 1) with target i, so every row says which row it was.
let private numbered n =
    Dataset(HostTensor([| n; 2 |], Array.init (2 * n) (fun k -> float32 (10 * (k / 2) + k % 2))),
            HostTensor([| n |], Array.init n float32))

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
    ]
