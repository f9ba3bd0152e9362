/// The run folder of `nn train`: early stopping's restored weights (best.safetensors) are what eval, predict and the
/// embedding API load, the checkpoint keeps the last epoch for --resume, a complete run is not trained again, --quiet
/// keeps the summary's order, and one run at a time writes a folder (--out refuses, a lock keeps a second train out).
module Nn.Tests.Cli.RunFolder

open System
open System.Diagnostics
open System.Globalization
open System.IO
open Expecto
open Nn.Tests
open Nn.Runtime.Checkpoints

/// Run the built nn.dll in `dir` with NO_COLOR=1, redirected output and extra environment: code, stdout, stderr.
let private nnWith = Nn.Tests.TestUtil.runNn

let private nn = nnWith []

/// A temporary folder holding copies of the named files of examples/ (paths relative to examples/).
let private sandbox files = Nn.Tests.TestUtil.exampleSandbox "nn-runs-" files

let private copyDir (src: string) (dst: string) =
    Directory.CreateDirectory dst |> ignore
    for f in Directory.GetFiles src do File.Copy(f, Path.Combine(dst, Path.GetFileName f))

let private lines (s: string) =
    s.Replace("\r\n", "\n").Split('\n', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray
let private inv = CultureInfo.InvariantCulture

/// iris with a rate high enough to overfit quickly: early stopping (patience 3) ends it a few epochs after its best.
let private earlyStopping =
    [ "--set"; "stop=earlyStopping { patience = 3 }"; "--set"; "optimizer=adam { lr = 0.3 }"; "--set"; "epochs=40" ]

/// One such run with --quiet, shared (trained once): the folder, the run, its stdout.
let private stopped =
    lazy
        (let dir = sandbox [ "iris.nn"; "data/iris.csv" ]
         let code, out, err = nn dir ([ "train"; "iris.nn" ] @ earlyStopping @ [ "--out"; "run"; "--quiet" ])
         if code <> 0 then failwithf "training iris failed: %s" err
         dir, Path.Combine(dir, "run"), out)

/// The epoch it stopped after and the epoch it restored, from its "stopped early" line.
let private stopEpochs (out: string) =
    let line = lines out |> List.find (fun l -> l.StartsWith "stopped early")
    let pattern = @"^stopped early after epoch (\d+); restored the weights of epoch (\d+)$"
    let m = Text.RegularExpressions.Regex.Match(line, pattern)
    Expect.isTrue m.Success (sprintf "the line says both epochs: %s" line)
    int m.Groups[1].Value, int m.Groups[2].Value

/// The rows of metrics.csv by epoch, each a map from column to value (parsed exactly).
let private metrics (run: string) =
    let all = File.ReadAllLines(Path.Combine(run, "metrics.csv"))
    let header = all[0].Split ','
    [ for l in all[1..] ->
          let cells = l.Split ','
          int cells[0], Map [ for i in 1 .. header.Length - 1 -> header[i], Double.Parse(cells[i], inv) ] ]
    |> Map

let private tensorBytes (file: string) (name: string) = (SafeTensors.Read file).[name].Bytes
let private epochOf (file: string) = (SafeTensors.Read file).Metadata.["epoch"]

/// Two `nn` processes started at once in `dir` with the same arguments: their exit codes and standard errors.
let private together (dir: string) (args: string list) =
    let start () =
        let psi =
            ProcessStartInfo("dotnet", WorkingDirectory = dir, RedirectStandardOutput = true,
                             RedirectStandardError = true)
        for a in "exec" :: Path.Combine(AppContext.BaseDirectory, "nn.dll") :: args do psi.ArgumentList.Add a
        psi.Environment["NO_COLOR"] <- "1"
        Process.Start psi
    let ps = [ start (); start () ]
    [ for p in ps ->
          let err = p.StandardError.ReadToEndAsync()
          p.StandardOutput.ReadToEnd() |> ignore
          p.WaitForExit()
          p.ExitCode, err.Result ]

[<Tests>]
let tests =
    testList "Cli.RunFolder" [
        test "after early stopping, eval of the run reproduces the restored epoch's validation \
              row of metrics.csv exactly" {
            let dir, run, out = stopped.Force()
            let last, best = stopEpochs out
            Expect.isLessThan best last "an earlier epoch was restored"
            let rows = metrics run
            Expect.equal rows.Count last "a row per epoch run"
            let bestFile = Path.Combine(run, "best.safetensors")
            Expect.equal (epochOf bestFile) (string best) "best.safetensors holds the restored epoch"
            Expect.equal (epochOf (Path.Combine(run, "checkpoint.safetensors"))) (string last) "the checkpoint the last"
            // what `nn eval` computes, in full precision, from the files written
            let _, weights, _, loss, ms =
                Nn.Cli.Commands.Eval.measureArgs [ Path.Combine(dir, "iris.nn"); "--weights"; run ]
            Expect.equal weights bestFile "eval reads best.safetensors"
            Expect.equal loss rows[best].["val_loss"] "val_loss of the restored epoch, exactly"
            Expect.equal ms [ "accuracy", rows[best].["val_accuracy"] ] "val_accuracy of the restored epoch, exactly"
            Expect.notEqual loss rows[last].["val_loss"] "not the last epoch's"
            // and as printed
            let code, evalOut, err = nn dir [ "eval"; "iris.nn"; "--weights"; "run" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            Expect.stringContains evalOut (sprintf "with %s on" (Path.Combine("run", "best.safetensors")))
                "names the weights it read"
            let number (x: float) = Nn.Cli.Progress.number x
            Expect.equal (lines evalOut |> List.last)
                (sprintf "loss %s  accuracy %s" (number rows[best].["val_loss"]) (number rows[best].["val_accuracy"]))
                "the printed line"
        }

        test "predict and the embedding API load the restored weights; the checkpoint keeps the last epoch's" {
            let dir, run, out = stopped.Force()
            let _, best = stopEpochs out
            let bestFile = Path.Combine(run, "best.safetensors")
            let ckFile = Path.Combine(run, "checkpoint.safetensors")
            Expect.notEqual (tensorBytes ckFile "dense1.w") (tensorBytes bestFile "dense1.w") "two sets of weights"
            let model = (Nn.NnModel.CompileFile(Path.Combine(dir, "iris.nn"))).EnsureSuccess()
            let session = model.LoadSession run
            let w = session.GetParameter("dense1.w").ToArray()
            let stored = (SafeTensors.Read bestFile).["dense1.w"].ToHost().Data
            Expect.equal w stored "LoadSession(run folder) has best.safetensors' weights"
            let predict weights =
                let code, o, err =
                    nn dir [ "predict"; "iris.nn"; "--weights"; weights; "--input"; "data/iris.csv"; "--out"; "p.csv" ]
                Expect.equal code 0 (sprintf "predict (stderr: %s)" err)
                File.ReadAllText(Path.Combine(dir, "p.csv"))
            let fromRun = predict "run"
            Expect.equal fromRun (predict (Path.Combine("run", "best.safetensors")))
                (sprintf "predict of the run is epoch %d's" best)
            Expect.notEqual fromRun (predict (Path.Combine("run", "checkpoint.safetensors"))) "not the last epoch's"
        }

        test "the summary says which weights are where, with and without --quiet, in the same order" {
            let dir, _, quietOut = stopped.Force()
            let last, best = stopEpochs quietOut
            let q = lines quietOut
            Expect.isMatch q[0] (sprintf "^epoch +%d/40  loss " last) "--quiet: first the last epoch"
            Expect.equal q[1] (sprintf "stopped early after epoch %d; restored the weights of epoch %d" last best)
                "then how it ended"
            Expect.stringStarts q[2] "trained `iris` in " "then the time"
            Expect.equal q[3] "run folder: run" "the folder"
            Expect.stringStarts q[4] (sprintf "  best.safetensors         the weights of epoch %d (restored)" best)
                "the restored weights"
            Expect.stringStarts q[5] (sprintf "  checkpoint.safetensors   the full state after epoch %d: \
                                               what --resume continues" last) "the last state"
            let code, full, err = nn dir ([ "train"; "iris.nn" ] @ earlyStopping @ [ "--out"; "loud" ])
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let f = lines full
            let at = f |> List.findIndex (fun l -> l.StartsWith "stopped early")
            let noSpeed (l: string) = Text.RegularExpressions.Regex.Replace(l, @"[\d,]+ samples/s$", "")
            Expect.equal (noSpeed f[at - 1]) (noSpeed q[0])
                "without --quiet the last epoch's line comes right before, too"
            Expect.equal f[at] q[1] "the same line"
            let tail (ls: string list) = ls |> List.skipWhile (fun l -> not (l.StartsWith "trained")) |> List.skip 2
            Expect.equal (tail f) (tail q) "the same file list"
        }

        test "--resume of a finished run says it is complete, exits 0 and trains nothing; a run stopped early too" {
            let dir = sandbox [ "xor.nn" ]
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=2"; "--out"; "r"; "--quiet" ]
            Expect.equal code 0 (sprintf "first run (stderr: %s)" err)
            let files =
                [ "checkpoint.safetensors"; "metrics.csv"; "curves.png" ]
                |> List.map (fun f -> Path.Combine(dir, "r", f))
            let before = files |> List.map File.ReadAllBytes
            let code, out, err = nn dir [ "train"; "xor.nn"; "--resume"; "r" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.equal (out.Trim()) "the run of `xor` in r is complete: 2 of 2 epochs are done (raise `epochs` to go \
                                       on, e.g. --set epochs=4); nothing to train" "message"
            Expect.equal (files |> List.map File.ReadAllBytes) before "no file rewritten"
            let code, out, _ = nn dir [ "train"; "xor.nn"; "--resume"; "r"; "--set"; "epochs=3"; "--quiet" ]
            Expect.equal code 0 "raising epochs goes on"
            Expect.stringStarts out "epoch 3/3" "one more epoch"
            // the early-stopped run, in a copy
            let sdir, run, sout = stopped.Force()
            let last, best = stopEpochs sout
            let copy = Path.Combine(sdir, "copy-" + Guid.NewGuid().ToString("N"))
            copyDir run copy
            let code, out, err = nn sdir [ "train"; "iris.nn"; "--resume"; Path.GetFileName copy ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out (sprintf "is complete: early stopping ended it after epoch %d (validationLoss \
                                                did not improve for 3 epochs" last) "stopped early is complete"
            Expect.equal (epochOf (Path.Combine(copy, "checkpoint.safetensors"))) (string last) "not trained"
            // a run whose best.safetensors is missing (an older nn) gets it from its checkpoint
            File.Delete(Path.Combine(copy, "best.safetensors"))
            let code, out, _ = nn sdir [ "train"; "iris.nn"; "--resume"; Path.GetFileName copy ]
            Expect.equal code 0 "exit code"
            Expect.stringContains out (sprintf "wrote the weights early stopping restored (epoch %d)" best) "says so"
            Expect.equal (tensorBytes (Path.Combine(copy, "best.safetensors")) "dense1.w")
                (tensorBytes (Path.Combine(run, "best.safetensors")) "dense1.w") "the same weights"
        }

        test "--resume continues from the last epoch's full state when an earlier epoch was restored" {
            let dir = sandbox [ "iris.nn"; "data/iris.csv" ]
            // patience 20: the run ends by its epochs, with its best epoch (8 of 10, and of 12) restored
            let settings = [ "--set"; "stop=earlyStopping { patience = 20 }"; "--set"; "optimizer=adam { lr = 0.3 }" ]
            let code, _, err =
                nn dir ([ "train"; "iris.nn" ] @ settings @ [ "--set"; "epochs=12"; "--out"; "full"; "--quiet" ])
            Expect.equal code 0 (sprintf "uninterrupted run (stderr: %s)" err)
            let code, out, err =
                nn dir ([ "train"; "iris.nn" ] @ settings @ [ "--set"; "epochs=10"; "--out"; "part"; "--quiet" ])
            Expect.equal code 0 (sprintf "first part (stderr: %s)" err)
            Expect.isMatch out @"restored the weights of epoch \d+, the best `validationLoss` of the run" "restored"
            Expect.isTrue (File.Exists(Path.Combine(dir, "full", "best.safetensors")))
                "the full run restored an epoch too"
            let code, out, err = nn dir [ "train"; "iris.nn"; "--resume"; "part"; "--set"; "epochs=12" ]
            Expect.equal code 0 (sprintf "resumed (stderr: %s)" err)
            Expect.stringContains out "resuming `iris` after epoch 10 of 12 from part" "from the last epoch"
            for f in [ "checkpoint.safetensors"; "best.safetensors" ] do
                let a = SafeTensors.Read(Path.Combine(dir, "full", f))
                let b = SafeTensors.Read(Path.Combine(dir, "part", f))
                Expect.equal (List.ofSeq b.Names) (List.ofSeq a.Names) (sprintf "%s: same tensors" f)
                for n in a.Names do Expect.equal b[n].Bytes a[n].Bytes (sprintf "%s: %s bit-identical" f n)
        }

        test "--out naming an existing run folder is refused (NN0760) unless --resume or --force" {
            let dir = sandbox [ "xor.nn" ]
            let code, _, _ = nn dir [ "train"; "xor.nn"; "--set"; "epochs=20"; "--out"; "r"; "--quiet" ]
            Expect.equal code 0 "first run"
            let ck = Path.Combine(dir, "r", "checkpoint.safetensors")
            let before = File.ReadAllBytes ck
            let code, out, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=5"; "--out"; "r"; "--quiet" ]
            Expect.equal code 1 "refused"
            Expect.equal out "" "nothing trained"
            Expect.stringStarts err "r: error NN0760: the --out folder already holds a run of `xor` (20 epochs done); \
                                     continue it with --resume, replace it with --force, \
                                     or choose another folder" "message"
            Expect.equal (File.ReadAllBytes ck) before "the run is intact"
            let code, _, err = nn dir [ "train"; "xor.nn"; "--out"; Path.Combine(dir, "r") + "/"; "--quiet" ]
            Expect.equal code 1 "refused by its full path"
            let expected = sprintf "%s: error NN0760: the --out folder already holds a run" (Path.Combine(dir, "r"))
            Expect.stringStarts err expected "the path once"
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=25"; "--out"; "r"; "--resume"; "--quiet" ]
            Expect.equal code 0 (sprintf "--out with --resume continues it (stderr: %s)" err)
            Expect.equal (epochOf ck) "25" "continued"
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=5"; "--out"; "r"; "--force"; "--quiet" ]
            Expect.equal code 0 (sprintf "--force replaces it (stderr: %s)" err)
            Expect.equal (epochOf ck) "5" "a new run"
            Expect.equal (File.ReadAllLines(Path.Combine(dir, "r", "metrics.csv")).Length) 6 "its own metrics"
            // a folder with other files, and a file
            Directory.CreateDirectory(Path.Combine(dir, "notes")) |> ignore
            File.WriteAllText(Path.Combine(dir, "notes", "todo.txt"), "keep me")
            let code, _, err = nn dir [ "train"; "xor.nn"; "--out"; "notes"; "--quiet" ]
            Expect.equal code 1 "a folder that is not empty"
            Expect.stringStarts err "notes: error NN0760: the --out folder is not empty (it holds `todo.txt`)" "message"
            let code, _, err = nn dir [ "train"; "xor.nn"; "--out"; "xor.nn"; "--quiet" ]
            Expect.equal code 1 "a file"
            Expect.stringStarts err "xor.nn: error NN0706: cannot create the folder: a file of that name exists"
                "message"
            Expect.equal (File.ReadAllText(Path.Combine(dir, "notes", "todo.txt"))) "keep me" "nothing lost"
        }

        test "a run folder's lock keeps a second train out (NN0761); released on exit; a stale lock is taken over" {
            let dir = sandbox [ "xor.nn" ]
            let run = Path.Combine(dir, "r")
            Directory.CreateDirectory run |> ignore
            let lockFile = Path.Combine(run, "train.lock")
            do
                use _held = Nn.Cli.RunFolder.lock run
                let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=2"; "--out"; "r"; "--quiet" ]
                Expect.equal code 1 "refused while the lock is held"
                Expect.stringStarts err "r: error NN0761: another `nn train` is writing to this run folder" "message"
            Expect.isFalse (File.Exists lockFile) "released and removed"
            // a lock file left by a killed process holds no lock
            File.WriteAllText(lockFile, "nn train, process 999999\n")
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=4"; "--out"; "r"; "--quiet" ]
            Expect.equal code 0 (sprintf "a stale lock file is taken over (stderr: %s)" err)
            Expect.isFalse (File.Exists lockFile) "and removed at the end"
            let code, _, _ =
                nnWith [ "NN_EXIT_AFTER_EPOCH", "2" ] dir
                    [ "train"; "xor.nn"; "--set"; "epochs=4"; "--out"; "k"; "--quiet" ]
            Expect.equal code 3 "killed after epoch 2"
            let code, out, err = nn dir [ "train"; "xor.nn"; "--resume"; "k"; "--quiet" ]
            Expect.equal code 0 (sprintf "resumed after the kill (stderr: %s)" err)
            Expect.stringStarts out "epoch 4/4" "trained on"
            Expect.isFalse (File.Exists(Path.Combine(dir, "k", "train.lock"))) "no lock left"
        }

        test "two trains into one folder at once: exactly one succeeds" {
            let dir = sandbox [ "xor.nn" ]
            let results = together dir [ "train"; "xor.nn"; "--out"; "same"; "--quiet" ]
            Expect.equal (results |> List.map fst |> List.sort) [ 0; 1 ]
                (sprintf "one trained, one was refused: %A" results)
            let refusal = results |> List.find (fun (c, _) -> c = 1) |> snd
            Expect.isTrue (refusal.Contains "error NN0761" || refusal.Contains "error NN0760")
                (sprintf "a coded refusal: %s" refusal)
        }
    
        test "two trains started at once without --out get a folder each" {
            let dir = sandbox [ "xor.nn" ]
            let results = together dir [ "train"; "xor.nn"; "--set"; "epochs=3"; "--quiet" ]
            Expect.equal (results |> List.map fst) [ 0; 0 ] (sprintf "both trained: %A" results)
            let runs =
                Directory.GetDirectories(Path.Combine(dir, "runs", "xor"))
                |> Array.filter (fun d -> Path.GetFileName d <> "latest")
            Expect.equal runs.Length 2 "two run folders"
            for r in runs do
                Expect.equal (File.ReadAllLines(Path.Combine(r, "metrics.csv")).Length) 4
                    (sprintf "%s: its own 3 epochs" r)
        }
        test "curves.png drawn while the last checkpoint is written: when it cannot be, a warning, the rest written" {
            let dir = sandbox [ "xor.nn" ]
            let run = Path.Combine(dir, "run")
            // a folder where the picture goes: its rename fails on the drawing thread
            Directory.CreateDirectory(Path.Combine(run, "curves.png")) |> ignore
            let code, out, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=2"; "--out"; "run"; "--force" ]
            Expect.equal code 0 err
            Expect.stringContains err "nn: warning: could not draw curves.png: " "the drawing thread's failure"
            Expect.equal (File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length) 3 "metrics of both epochs"
            Expect.equal ((SafeTensors.Read(Path.Combine(run, "checkpoint.safetensors"))).Metadata["epoch"]) "2"
                "the last checkpoint"
            Expect.isFalse (out.Contains "curves.png") "the summary lists no curves"
            Directory.Delete(dir, true)
        }
        test "curves.png: ScottPlot's picture pixel for pixel, in the fast encoding, decoded by Skia's PNG reader" {
            let rows: Nn.Cli.RunFolder.Row list =
                [ for e in 1..8 ->
                      { Epoch = e; Loss = 1.0 / float e; Metrics = [ "accuracy", 1.0 - 0.5 / float e ]
                        ValLoss = Some(1.2 / float e); ValMetrics = [ "accuracy", 0.9 - 0.5 / float e ]; Lr = 0.1
                        Seconds = 0.1 } ]
            let path = Path.Combine(Path.GetTempPath(), sprintf "nn-curves-%s.png" (Guid.NewGuid().ToString "N"))
            Nn.Cli.RunFolder.writeCurves path "mlp (mlp.nn)" rows
            let written = File.ReadAllBytes path
            File.Delete path
            // the same plot through ScottPlot's own PNG (Skia's default encoder: level 6, every row filter)
            use plt = Nn.Cli.RunFolder.curvesPlot "mlp (mlp.nn)" rows
            let reference = plt.GetImageBytes(900, 500, ScottPlot.ImageFormat.Png)
            use a = SkiaSharp.SKBitmap.Decode written
            use b = SkiaSharp.SKBitmap.Decode reference
            Expect.isNotNull a "curves.png decodes"
            Expect.equal (a.Width, a.Height) (900, 500) "its size"
            let pixels (bmp: SkiaSharp.SKBitmap) = bmp.Pixels |> Array.map (fun c -> uint32 c)
            Expect.isTrue (pixels a = pixels b) "the same pixels as ScottPlot's own PNG"
            Expect.isGreaterThan ((pixels a |> Array.distinct).Length) 4 "a picture, not a blank"
        }
    ]
