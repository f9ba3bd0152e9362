module Nn.Tests.Compiler.CheckpointTests

open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints
open Nn.Compiler

/// A weights file as training writes it: parameters, the optimizer's slot of each (`w.m`) and the best epoch's copies
/// (`best:`), plus a parameter whose name extends another's (`a` and `a.b`: read ahead it looks like a slot).
let private write (path: string) =
    let t (shape: int[]) (start: float32) =
        RawTensor.FromHost(HostTensor(shape, Array.init (Array.fold (*) 1 shape) (fun i -> start + float32 i)))
    let tensors =
        [ "dense.w", t [| 2; 3 |] 1f; "dense.b", t [| 3 |] 10f; "a", t [| 2 |] 20f; "a.b", t [| 2 |] 30f
          "dense.w.m", t [| 2; 3 |] 40f; "best:dense.w", t [| 2; 3 |] 50f ]
    SafeTensors.Write(path, tensors |> List.map KeyValuePair, readOnlyDict [ "classes", "x\ny\nz" ])

let private nodes (names: (string * int list) list) =
    let b = GraphBuilder()
    [ for n, dims in names -> b.Param(n, Shape.Of(Array.ofList dims), InitSpec.Zeros, SourceSpan.None) ]

let private asMap (values: Dictionary<string, HostTensor>) =
    values |> Seq.map (fun kv -> kv.Key, (kv.Value.Shape, kv.Value.Data)) |> Map.ofSeq

[<Tests>]
let tests =
    testList "Compiler.Checkpoint" [
        test "weights read ahead are the weights read after the compile, the slots and best copies left (#18.6)" {
            Nn.Tests.TestUtil.withTempDir "nn-ck-ahead-" (fun dir ->
                let path = Path.Combine(dir, "w.safetensors")
                write path
                let wanted = nodes [ "dense.w", [ 2; 3 ]; "dense.b", [ 3 ] ]
                let direct, meta = Checkpoint.readWeightsAhead None path wanted
                let ahead = Checkpoint.WeightsAhead path
                Expect.isFalse (ahead.Finite "dense.w") "not checked before it is read"
                ahead.Run()
                ahead.CheckFinite()
                Expect.isTrue (ahead.Finite "dense.w") "checked on the reading thread"
                let early, meta2 = Checkpoint.readWeightsAhead (Some ahead) path wanted
                Expect.equal (asMap early) (asMap direct) "the same values"
                Expect.equal (asMap direct).["dense.b"] ([| 3 |], [| 10f; 11f; 12f |]) "as written"
                Expect.equal (Checkpoint.classNamesIn meta) (Some [| "x"; "y"; "z" |]) "the class names"
                Expect.equal (Checkpoint.classNamesIn meta2) (Some [| "x"; "y"; "z" |]) "the class names ahead"
                let read = (ahead.Read()).Value
                Expect.isTrue (read.Holds "dense.w" && read.Holds "dense.b" && read.Holds "a") "parameters read ahead"
                Expect.isFalse (read.Holds "dense.w.m" || read.Holds "best:dense.w" || read.Holds "a.b")
                    "slots, best copies and names extending another's left")
        }
        test "a parameter not read ahead (its name extends another's) is read after the compile" {
            Nn.Tests.TestUtil.withTempDir "nn-ck-ahead-" (fun dir ->
                let path = Path.Combine(dir, "w.safetensors")
                write path
                let wanted = nodes [ "a", [ 2 ]; "a.b", [ 2 ] ]
                let values, _ = Checkpoint.readWeightsAhead (Some(Checkpoint.WeightsAhead path)) path wanted
                let want = Map.ofList [ "a", ([| 2 |], [| 20f; 21f |]); "a.b", ([| 2 |], [| 30f; 31f |]) ]
                Expect.equal (asMap values) want "both, as written")
        }
        test "a missing or mismatched weight read ahead gives the error of the read after the compile" {
            Nn.Tests.TestUtil.withTempDir "nn-ck-ahead-" (fun dir ->
                let path = Path.Combine(dir, "w.safetensors")
                write path
                let errorOf f = Nn.Tests.TestUtil.dataError (fun () -> f () |> ignore)
                for wanted in [ nodes [ "dense.w", [ 3; 2 ] ]; nodes [ "other", [ 1 ] ] ] do
                    let direct = errorOf (fun () -> Checkpoint.readWeightsAhead None path wanted)
                    let early =
                        errorOf (fun () -> Checkpoint.readWeightsAhead (Some(Checkpoint.WeightsAhead path)) path wanted)
                    Expect.equal (early.Code, early.Message) (direct.Code, direct.Message) "the same error"
                let missing = Path.Combine(dir, "none.safetensors")
                let wanted = nodes [ "dense.w", [ 2; 3 ] ]
                let ahead = Some(Checkpoint.WeightsAhead missing)
                let early = errorOf (fun () -> Checkpoint.readWeightsAhead ahead missing wanted)
                Expect.equal early.Code "NN0701" "a missing file")
        }
        test "a weight holding NaN or infinity read ahead gives the error of the read after the compile (NN0710)" {
            Nn.Tests.TestUtil.withTempDir "nn-ck-ahead-" (fun dir ->
                let path = Path.Combine(dir, "w.safetensors")
                let errorOf f = Nn.Tests.TestUtil.dataError (fun () -> f () |> ignore)
                for bad in [ nanf; infinityf; -infinityf ] do
                    // the bad value past the first 16 (the vector loop) and in the second tensor read
                    let w = Array.init 40 float32
                    w[37] <- bad
                    let tensors =
                        [ "dense.b", RawTensor.FromHost(HostTensor([| 2 |], [| 1f; 2f |]))
                          "dense.w", RawTensor.FromHost(HostTensor([| 5; 8 |], w)) ]
                    SafeTensors.Write(path, tensors |> List.map KeyValuePair, readOnlyDict [])
                    let wanted = nodes [ "dense.b", [ 2 ]; "dense.w", [ 5; 8 ] ]
                    let direct = errorOf (fun () -> Checkpoint.readWeightsAhead None path wanted)
                    let early =
                        errorOf (fun () -> Checkpoint.readWeightsAhead (Some(Checkpoint.WeightsAhead path)) path wanted)
                    // checked on the reading thread first (as nn predict's input reader does)
                    let ahead = Checkpoint.WeightsAhead path
                    ahead.Run()
                    ahead.CheckFinite()
                    Expect.isTrue (ahead.Finite "dense.b" && not (ahead.Finite "dense.w")) "found finite or not"
                    let checkedAhead = errorOf (fun () -> Checkpoint.readWeightsAhead (Some ahead) path wanted)
                    Expect.equal direct.Code "NN0710" "non-finite weights"
                    Expect.stringContains direct.Message "`dense.w`" "named"
                    Expect.equal (early.Code, early.Message) (direct.Code, direct.Message) "the same error"
                    Expect.equal (checkedAhead.Code, checkedAhead.Message) (direct.Code, direct.Message)
                        "checked ahead")
        }
    ]
