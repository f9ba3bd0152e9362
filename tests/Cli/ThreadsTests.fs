/// Training gives the same bits on one thread as on two: every example, one epoch on a small subset of its data.
module Nn.Tests.Cli.Threads

open System
open System.Diagnostics
open System.IO
open Expecto
open Nn.Tests
open Nn.Runtime.Checkpoints

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: code, stdout, stderr. Every step on the
/// threads asked for (NN_THREADS_ADAPTIVE=0: no timed choice of one thread, Engine.StepThreads).
let private nn = Nn.Tests.TestUtil.runNn [ "NN_THREADS_ADAPTIVE", "0" ]

/// A temporary copy of examples/ whose MNIST files hold their first 320 images (5 batches of 64 after the validation
/// split, the last one partial).
let private sandbox () = TestUtil.examplesWithMnistHead "nn-threads-" 320

let private runs =
    [ for f in Directory.GetFiles(Path.Combine(TestUtil.repoRoot, "examples"), "*.nn") |> Array.sort ->
        Path.GetFileName f, [] ]
    @ [ "residual.nn", [ "--network"; "deep_sigmoid" ] ]

/// One epoch of `file` on 1 and on 2 threads through `run`: the same checkpoint bit for bit.
let private sameCheckpoints run (file: string) (extra: string list) =
    let dir = sandbox ()
    try
        let train threads =
            let out = sprintf "runs/t%d" threads
            let args = [ "train"; file; "--set"; "epochs=1"; "--threads"; string threads; "--out"; out ]
            let code, stdout, err = run dir (args @ extra)
            let what = sprintf "exit code on %d threads (stdout: %s, stderr: %s)" threads stdout err
            Expect.equal code 0 what
            SafeTensors.Read(Path.Combine(dir, out, "checkpoint.safetensors"))
        let one, two = train 1, train 2
        Expect.sequenceEqual two.Names one.Names "the same tensors"
        for name in one.Names do
            let same = one[name].Bytes = two[name].Bytes
            Expect.isTrue same (sprintf "%s differs between 1 and 2 threads" name)
    finally
        try Directory.Delete(dir, true) with _ -> ()

[<Tests>]
let tests =
    testList "Cli.Threads" [
        testList "one epoch on 1 and on 2 threads writes the same checkpoint bit for bit" [
            for file, extra in runs ->
                test (String.concat " " (file :: extra)) { sameCheckpoints nn file extra }
        ]
        test "mnist_mlp.nn with nn's timed choice of one thread or two (the default)" {
            sameCheckpoints (Nn.Tests.TestUtil.runNn []) "mnist_mlp.nn" [] }
    ]
