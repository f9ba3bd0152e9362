/// `nn train --ranks N` and `mpirun -np N nn train` (data parallelism over Open MPI, the fused engine): the same
/// metrics and weights as one process within float32 rounding on xor, iris and MNIST's MLP with dropout; rank 0 alone
/// writes the run folder; a killed rank ends the job with an intact checkpoint; a 2-rank checkpoint resumes on one
/// process. Skipped (never passed) where Open MPI's mpirun is missing.
module Nn.Tests.Cli.Distributed

open System
open System.Diagnostics
open System.Globalization
open System.IO
open Expecto
open Nn.Tests
open Nn.Runtime.Checkpoints

let private nn = TestUtil.runNn []

let private install =
    "Open MPI's mpirun is not installed: apt-get install openmpi-bin libopenmpi-dev (Debian/Ubuntu; .ci/run does)"

/// Skips the test where mpirun is missing.
let private needMpi () =
    if (Nn.Cli.Distributed.mpirun ()).IsNone then skiptest install

/// `mpirun -np N dotnet exec nn.dll ARGS` in `dir`, as a user on a cluster starts it; ended after two minutes.
let private mpirunNn (ranks: int) (env: (string * string) list) (dir: string) (args: string list) =
    let psi = ProcessStartInfo("mpirun", WorkingDirectory = dir, RedirectStandardOutput = true,
                               RedirectStandardError = true)
    let root = if Environment.UserName = "root" then [ "--allow-run-as-root" ] else []
    for a in root @ [ "--oversubscribe"; "--bind-to"; "none"; "-np"; string ranks; "dotnet"; "exec"
                      Path.Combine(AppContext.BaseDirectory, "nn.dll") ] @ args do
        psi.ArgumentList.Add a
    psi.Environment["NO_COLOR"] <- "1"
    for k, v in env do psi.Environment[k] <- v
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if not (p.WaitForExit 120_000) then
        p.Kill true
        failtestf "the job did not end within two minutes (stdout: %s, stderr: %s)" out.Result err.Result
    p.ExitCode, out.Result, err.Result

/// The numbers of metrics.csv without its last column (the epoch's seconds).
let private metrics (run: string) =
    File.ReadAllLines(Path.Combine(run, "metrics.csv"))
    |> Array.skip 1
    |> Array.map (fun l -> l.Split(',') |> Array.take (l.Split(',').Length - 1)
                           |> Array.map (fun v -> Double.Parse(v, CultureInfo.InvariantCulture)))

/// Float32 rounding carried through a few epochs of updates: relative 1e-4, absolute 1e-6 near 0.
let private close (what: string) (expected: float) (actual: float) =
    if abs (actual - expected) > 1e-4 * abs expected + 1e-6 then
        failtestf "%s: %g on several ranks, %g in one process" what actual expected

/// Two runs wrote the same metrics and checkpoint tensors within float32 rounding.
let private sameRuns (one: string) (many: string) =
    let a, b = metrics one, metrics many
    Expect.equal b.Length a.Length "epochs"
    for e in 0 .. a.Length - 1 do
        Array.iteri2 (fun i x y -> close (sprintf "metrics.csv row %d column %d" (e + 1) i) x y) a[e] b[e]
    let ca = SafeTensors.Read(Path.Combine(one, "checkpoint.safetensors"))
    let cb = SafeTensors.Read(Path.Combine(many, "checkpoint.safetensors"))
    Expect.sequenceEqual (Seq.sort cb.Names) (Seq.sort ca.Names) "the same tensors"
    for name in ca.Names do
        if ca[name].Type = Nn.Runtime.Data.ElementType.F32 then
            let floats (t: Nn.Runtime.Data.RawTensor) =
                Runtime.InteropServices.MemoryMarshal.Cast<byte, float32>(ReadOnlySpan t.Bytes).ToArray()
            Array.iteri2 (fun i (p: float32) (q: float32) -> close (sprintf "%s[%d]" name i) (float p) (float q))
                (floats ca[name]) (floats cb[name])
        else Expect.sequenceEqual cb[name].Bytes ca[name].Bytes (sprintf "%s (epochs, steps, generators)" name)

let private withExamples (f: string -> unit) =
    let dir = TestUtil.examplesWithMnistHead "nn-mpi-" 320
    try f dir
    finally
        try Directory.Delete(dir, true) with _ -> ()

let private train (dir: string) (args: string list) =
    let code, out, err = nn dir ("train" :: args)
    Expect.equal code 0 (sprintf "exit code of nn train %s (stdout: %s, stderr: %s)" (String.concat " " args) out err)
    out

/// batchNorm (statistics summed across the ranks) and dropout, 16 rows in batches of 7: unequal shares, and a last
/// batch of 2 rows that 3 ranks each run whole.
let private batchNormProgram =
    """
let linear units (x: [n, k]) =
    param w : [k, units] = glorot
    x @ w

let dense units (x: [n, k]) =
    param w : [k, units] = glorot
    param b : [units] = zeros
    x @ w + b

network net (x: [n, 3]) : [n, 2] =
    x |> linear 12 |> batchNorm |> relu |> dropout 0.25 |> dense 2

train net {
    data      = rows [ [0.1; 0.9; 0.3], 0
                       [0.8; 0.2; 0.5], 1
                       [0.4; 0.4; 0.9], 1
                       [0.9; 0.1; 0.1], 0
                       [0.3; 0.7; 0.6], 1
                       [0.2; 0.5; 0.8], 0
                       [0.6; 0.3; 0.2], 1
                       [0.7; 0.9; 0.4], 0
                       [0.5; 0.6; 0.7], 1
                       [0.1; 0.2; 0.3], 0
                       [0.9; 0.8; 0.7], 1
                       [0.3; 0.1; 0.9], 0
                       [0.6; 0.6; 0.1], 1
                       [0.2; 0.9; 0.5], 0
                       [0.4; 0.1; 0.6], 1
                       [0.8; 0.5; 0.3], 0 ]
    loss      = softmaxCrossEntropy
    metrics   = [accuracy]
    optimizer = adam { lr = 0.01 }
    batch     = 7
    epochs    = 5
    seed      = 5
}
"""

[<Tests>]
let tests =
    testList "Cli.Distributed" [
        for file, ranks, sets in
            [ "xor.nn", 2, [ "epochs=30" ]; "xor.nn", 3, [ "epochs=30" ]; "iris.nn", 2, [ "epochs=4" ]
              "iris.nn", 3, [ "epochs=4" ]; "mnist_mlp.nn", 2, [ "epochs=2" ] ] ->
            test (sprintf "%s --ranks %d = one process within float32 rounding" file ranks) {
                needMpi ()
                withExamples (fun dir ->
                    let set = sets |> List.collect (fun s -> [ "--set"; s ])
                    train dir ([ file; "--quiet"; "--out"; "runs/one" ] @ set) |> ignore
                    let out = train dir ([ file; "--quiet"; "--out"; "runs/many"; "--ranks"; string ranks ] @ set)
                    Expect.stringContains out "run folder: runs/many" "rank 0 prints the summary"
                    Expect.equal (out.Split("run folder:").Length) 2 "once"
                    sameRuns (Path.Combine(dir, "runs/one")) (Path.Combine(dir, "runs/many")))
            }

        for ranks in [ 2; 3 ] do
            yield test (sprintf "batchNorm and dropout --ranks %d = one process within float32 rounding" ranks) {
                needMpi ()
                TestUtil.withTempDir "nn-mpi-" (fun dir ->
                    File.WriteAllText(Path.Combine(dir, "bn.nn"), batchNormProgram)
                    train dir [ "bn.nn"; "--quiet"; "--out"; "runs/one" ] |> ignore
                    train dir [ "bn.nn"; "--quiet"; "--out"; "runs/many"; "--ranks"; string ranks ] |> ignore
                    sameRuns (Path.Combine(dir, "runs/one")) (Path.Combine(dir, "runs/many")))
            }

        yield test "mpirun -np 2 nn train: the job is found in Open MPI's environment; rank 0 alone writes" {
            needMpi ()
            withExamples (fun dir ->
                train dir [ "xor.nn"; "--quiet"; "--out"; "runs/one"; "--set"; "epochs=20" ] |> ignore
                let code, out, err = mpirunNn 2 [] dir [ "train"; "xor.nn"; "--set"; "epochs=20"; "--out"; "runs/job" ]
                Expect.equal code 0 (sprintf "exit code (stdout: %s, stderr: %s)" out err)
                Expect.stringContains out "epochs, batch 4, sgd, 2 ranks" "rank 0 names the ranks"
                Expect.equal (out.Split("run folder:").Length) 2 "one summary"
                let folders = Directory.GetDirectories(Path.Combine(dir, "runs")) |> Array.map Path.GetFileName
                Expect.sequenceEqual (Array.sort folders) [| "job"; "one" |] "no other run folder"
                sameRuns (Path.Combine(dir, "runs/one")) (Path.Combine(dir, "runs/job")))
        }

        yield test "mpirun -np 2 nn train --pipeline 2: one stage per process = one process within float32 rounding" {
            needMpi ()
            withExamples (fun dir ->
                train dir [ "iris.nn"; "--quiet"; "--out"; "runs/one"; "--set"; "epochs=4" ] |> ignore
                let code, out, err =
                    mpirunNn 2 [] dir
                        [ "train"; "iris.nn"; "--quiet"; "--pipeline"; "2"; "--set"; "epochs=4"; "--out"; "runs/job" ]
                Expect.equal code 0 (sprintf "exit code (stdout: %s, stderr: %s)" out err)
                Expect.equal (out.Split("run folder:").Length) 2 "rank 0 alone prints the summary"
                sameRuns (Path.Combine(dir, "runs/one")) (Path.Combine(dir, "runs/job")))
        }

        yield test "--ranks 3 --pipeline 2: a job of another size than the stages is an error" {
            needMpi ()
            withExamples (fun dir ->
                let code, out, err =
                    nn dir [ "train"; "iris.nn"; "--quiet"; "--pipeline"; "2"; "--ranks"; "3"; "--out"; "runs/job" ]
                Expect.equal code 1 (sprintf "exit code (stdout: %s, stderr: %s)" out err)
                Expect.stringContains (out + err) "--pipeline 2 needs 2 ranks, but the job has 3" "the message"
                Expect.isFalse (Directory.Exists(Path.Combine(dir, "runs/job"))) "no run folder")
        }

        yield test "a rank killed after epoch 2 ends the job with an error; the checkpoint is intact and resumes" {
            needMpi ()
            withExamples (fun dir ->
                let code, out, err =
                    TestUtil.runNn [ "NN_KILL_RANK_AFTER_EPOCH", "1:2" ] dir
                        [ "train"; "iris.nn"; "--set"; "epochs=40"; "--out"; "runs/killed"; "--quiet"; "--ranks"; "2" ]
                Expect.equal code 1 (sprintf "the job fails (stdout: %s)" out)
                Expect.stringContains err "error NN0802: rank 1 of the job's 2 ended on signal 9 (Killed)" "the error"
                Expect.isFalse (err.Contains "MPI_ABORT" || err.Contains "-----") "mpirun's notices left out"
                let run = Path.Combine(dir, "runs/killed")
                let state = SafeTensors.Read(Path.Combine(run, "checkpoint.safetensors"))
                Expect.isGreaterThan state.Names.Count 0 "the checkpoint reads"
                let resumed = train dir [ "iris.nn"; "--resume"; "runs/killed"; "--quiet" ]
                Expect.stringContains resumed "epoch 40/40" "resumed to the end on one process")
        }

        yield test "a checkpoint of 2 ranks resumes on one process as one process would have gone on" {
            needMpi ()
            withExamples (fun dir ->
                train dir [ "iris.nn"; "--quiet"; "--out"; "runs/one"; "--set"; "epochs=4" ] |> ignore
                train dir [ "iris.nn"; "--quiet"; "--out"; "runs/two"; "--set"; "epochs=2"; "--ranks"; "2" ] |> ignore
                train dir [ "iris.nn"; "--quiet"; "--resume"; "runs/two"; "--set"; "epochs=4" ] |> ignore
                sameRuns (Path.Combine(dir, "runs/one")) (Path.Combine(dir, "runs/two")))
        }

        yield test "an error every rank meets is reported once, by rank 0" {
            needMpi ()
            TestUtil.withTempDir "nn-mpi-" (fun dir ->
                File.WriteAllText(Path.Combine(dir, "bad.nn"),
                    "network x (a: [n, 2]) : [n, 1] =\n    a\n\ntrain x {\n    data = rows [ [0; 0], [0] ]\n"
                    + "    loss = mse\n    epochs = nope\n}\n")
                let code, _, err = nn dir [ "train"; "bad.nn"; "--ranks"; "2" ]
                Expect.equal code 1 "exit code"
                Expect.equal (err.Split("error NN0407").Length) 2 (sprintf "one diagnostic: %s" err)
                Expect.isFalse (err.Contains "MPI_ABORT" || err.Contains "-----") "mpirun's notices left out")
        }

        yield test "--ranks 2 --bucket-mb 0.05 (buckets overlapping the backward pass) = one fused sum, bit for bit" {
            needMpi ()
            withExamples (fun dir ->
                let run (env: (string * string) list) (out: string) (mb: string) =
                    let args = [ "train"; "mnist_mlp.nn"; "--quiet"; "--out"; out; "--ranks"; "2"; "--bucket-mb"; mb
                                 "--set"; "epochs=2" ]
                    let code, stdout, err = TestUtil.runNn env dir args
                    Expect.equal code 0 (sprintf "exit code (stdout: %s, stderr: %s)" stdout err)
                    SafeTensors.Read(Path.Combine(dir, out, "checkpoint.safetensors"))
                train dir [ "mnist_mlp.nn"; "--quiet"; "--out"; "runs/one"; "--set"; "epochs=2" ] |> ignore
                // two ranks: each element's sum is a + b whatever the cut, so the weights are the same bits; the
                // buckets summed on a communication thread, or as MPI_Iallreduce tested between kernels
                let fused = run [] "runs/fused" "0"
                for out, env in [ "runs/buckets", []; "runs/test", [ "NN_BUCKET_PROGRESS", "test" ] ] do
                    let buckets = run env out "0.05"
                    for name in fused.Names do
                        Expect.sequenceEqual buckets[name].Bytes fused[name].Bytes
                            (sprintf "%s: %s bit for bit" out name)
                sameRuns (Path.Combine(dir, "runs/one")) (Path.Combine(dir, "runs/buckets")))
        }

        yield test "--bucket-mb needs a number of megabytes of at least 0 (NN0807)" {
            let code, _, err = nn TestUtil.repoRoot [ "train"; "examples/xor.nn"; "--bucket-mb"; "-1" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "NN0807" "the code"
            Expect.stringContains err "--bucket-mb needs a number of megabytes of at least 0, got `-1`" "message"
        }

        yield test "--ranks needs a count of at least 1" {
            let code, _, err = nn TestUtil.repoRoot [ "train"; "examples/xor.nn"; "--ranks"; "0" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "--ranks needs a number of processes of at least 1, got `0`" "message"
        }
    ]
