/// `nn train` end to end: convergence on XOR, the run folder, checkpoints, exact resumption, divergence.
module Nn.Tests.Cli.Train

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
let private sandbox files = Nn.Tests.TestUtil.exampleSandbox "nn-cli-" files

let private lines (s: string) =
    s.Replace("\r\n", "\n").Split('\n', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray

[<Tests>]
let tests =
    testList "Cli.Train" [
        test "nn train examples/xor.nn learns XOR: final loss < 0.05, every prediction on the right side of 0.5" {
            let dir = sandbox [ "xor.nn" ]
            let code, out, err = nn dir [ "train"; "xor.nn" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.isFalse (out.Contains "\u001b") "no ANSI escapes when redirected"
            let ls = lines out
            let lastEpoch = ls |> List.findBack (fun l -> l.StartsWith "epoch")
            Expect.stringStarts lastEpoch "epoch 500/500  loss " "the last epoch line"
            let loss = Double.Parse((lastEpoch.Split("  ")[1]).Substring(5), CultureInfo.InvariantCulture)
            Expect.isLessThan loss 0.05 "final loss"
            Expect.stringEnds lastEpoch " samples/s" "samples per second"
            let table = ls |> List.skipWhile (fun l -> not (l.StartsWith "input")) |> List.skip 2 |> List.take 4
            for row in table do
                let cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                let x1, x2, target, prediction =
                    float cells[0], float cells[1], float cells[2], Double.Parse(cells[3], CultureInfo.InvariantCulture)
                Expect.equal target (if x1 <> x2 then 1.0 else 0.0) "target column"
                Expect.equal (prediction > 0.5) (target = 1.0) (sprintf "prediction for %g %g is %g" x1 x2 prediction)
        }

        test "the run folder holds metrics.csv, the checkpoint, the model source and curves.png" {
            let dir = sandbox [ "iris.nn"; "data/iris.csv" ]
            let code, out, err = nn dir [ "train"; "iris.nn"; "--set"; "epochs=4" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            let runs = Directory.GetDirectories(Path.Combine(dir, "runs", "iris"))
            let run = runs |> Array.filter (fun d -> Path.GetFileName d <> "latest") |> Array.exactlyOne
            // runs/iris/latest: a stable name for the newest run, which the loaders accept
            Expect.isTrue (File.Exists(Path.Combine(dir, "runs", "iris", "latest", "checkpoint.safetensors")))
                "runs/iris/latest"
            let code, _, err = nn dir [ "eval"; "iris.nn"; "--weights"; Path.Combine("runs", "iris", "latest") ]
            Expect.equal code 0 (sprintf "eval of runs/iris/latest (stderr: %s)" err)
            Expect.stringContains out (sprintf "run folder: %s" (Path.Combine("runs", "iris", Path.GetFileName run)))
                "prints where"
            let names = Directory.GetFiles run |> Array.map Path.GetFileName |> Array.sort
            Expect.equal names [| "checkpoint.safetensors"; "curves.png"; "iris.nn"; "metrics.csv" |]
                "files (no temporary ones)"
            let metrics = File.ReadAllLines(Path.Combine(run, "metrics.csv"))
            Expect.equal metrics[0] "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds" "header"
            Expect.equal metrics.Length 5 "a row per epoch"
            Expect.equal (File.ReadAllText(Path.Combine(run, "iris.nn")))
                (File.ReadAllText(Path.Combine(dir, "iris.nn"))) "source copy"
            let png = File.ReadAllBytes(Path.Combine(run, "curves.png"))
            Expect.equal png[1..3] "PNG"B "a PNG image"
            let ck = SafeTensors.Read(Path.Combine(run, "checkpoint.safetensors"))
            Expect.equal ck.Metadata["epoch"] "4" "epoch"
            Expect.equal ck.Metadata["network"] "iris" "network"
            Expect.equal ck.Metadata["classes"] "setosa\nversicolor\nvirginica" "class names"
            Expect.equal ck.Metadata["source_sha256"].Length 64 "SHA-256"
            Expect.isTrue (ck.Metadata.ContainsKey "rng" && ck.Metadata.ContainsKey "nn_version"
                           && ck.Metadata.ContainsKey "schedule") "resume state"
            for p in [ "dense1.w"; "dense2.b"; "standardize1.mean" ] do
                Expect.isTrue (ck.Names |> Seq.contains p) (sprintf "holds %s" p)
            Expect.isGreaterThan ck.Names.Count 8 "optimizer state too"
        }

        test "a run killed after epoch 3 and resumed ends with bit-identical weights" {
            let dir = sandbox [ "iris.nn"; "data/iris.csv" ]
            let code, _, err = nn dir [ "train"; "iris.nn"; "--set"; "epochs=6"; "--out"; "full"; "--quiet" ]
            Expect.equal code 0 (sprintf "uninterrupted run (stderr: %s)" err)
            let code, _, err =
                nnWith [ "NN_EXIT_AFTER_EPOCH", "3" ] dir
                    [ "train"; "iris.nn"; "--set"; "epochs=6"; "--out"; "part"; "--quiet" ]
            Expect.equal code 3 "killed after epoch 3"
            Expect.stringContains err "stopping after epoch 3" "says so"
            Expect.equal (SafeTensors.Read(Path.Combine(dir, "part", "checkpoint.safetensors")).Metadata["epoch"]) "3"
                "checkpoint of epoch 3"
            let code, out, err = nn dir [ "train"; "iris.nn"; "--resume"; "part" ]
            Expect.equal code 0 (sprintf "resumed run (stderr: %s)" err)
            Expect.stringContains out "resuming `iris` after epoch 3 of 6 from part" "announces the resumption"
            let full = SafeTensors.Read(Path.Combine(dir, "full", "checkpoint.safetensors"))
            let part = SafeTensors.Read(Path.Combine(dir, "part", "checkpoint.safetensors"))
            Expect.equal (List.ofSeq part.Names) (List.ofSeq full.Names) "same tensors"
            for n in full.Names do Expect.equal part[n].Bytes full[n].Bytes (sprintf "%s bit-identical" n)
            let rows (d: string) =
                File.ReadAllLines(Path.Combine(dir, d, "metrics.csv"))
                |> Array.map (fun l -> l.Substring(0, l.LastIndexOf ','))
            Expect.equal (rows "part") (rows "full") "same metrics (but the seconds)"
        }

        test "resuming is refused when the model source changed" {
            let dir = sandbox [ "xor.nn" ]
            let code, _, _ = nn dir [ "train"; "xor.nn"; "--set"; "epochs=2"; "--out"; "r"; "--quiet" ]
            Expect.equal code 0 "first run"
            File.AppendAllText(Path.Combine(dir, "xor.nn"), "\n// changed\n")
            let code, _, err = nn dir [ "train"; "xor.nn"; "--resume"; "r" ]
            Expect.equal code 1 "refused"
            Expect.stringStarts err "r/checkpoint.safetensors: error NN0709: was written for another version of xor.nn \
                                     (its SHA-256 differs); train from scratch, or restore the model source \
                                     saved in the run folder" "message"
        }

        test "--resume without a run says so" {
            let dir = sandbox [ "xor.nn" ]
            let code, _, err = nn dir [ "train"; "xor.nn"; "--resume" ]
            Expect.equal code 1 "exit code"
            Expect.equal (err.Trim()) (sprintf "%s: error NN0701: --resume: no run of `xor` here holds a checkpoint; \
                                                give the run folder\n\n1 error" (Path.Combine("runs", "xor"))) "message"
        }

        test "divergence to NaN is a diagnostic at the node's line, without a stack trace" {
            let dir = sandbox [ "xor.nn" ]
            let code, _, err =
                nn dir [ "train"; "xor.nn"; "--engine"; "reference"; "--set"; "optimizer=sgd { lr = 1e38 }"
                         "--set"; "epochs=20"; "--set"; "divergence=0"; "--quiet" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "error NN0612: training diverged at step " "code and message"
            Expect.stringContains err "try a smaller learning rate" "advice"
            Expect.stringContains err " | " "source excerpt"
            Expect.isFalse (err.Contains "   at ") "no stack trace"
        }

        test "a loss that explodes while staying finite stops with NN0620 at the loss line; \
              `divergence` sets the limit" {
            let dir = sandbox [ "xor.nn"; "iris.nn"; "data/iris.csv" ]
            // today: xor with lr 1e10 ends at a loss of 1e10, iris with lr 1e30 at 6.9e29, both with exit code 0
            let code, _, err =
                nn dir [ "train"; "xor.nn"; "--set"; "optimizer=sgd { lr = 1e10 }"; "--set"; "epochs=50"; "--quiet"
                         "--out"; "a" ]
            Expect.equal code 1 "xor: exit code"
            let first = (lines err).Head.Replace(Path.Combine(dir, "xor.nn"), "xor.nn")
            Expect.stringStarts first "xor.nn(18,17): error NN0620: training diverged at step 2 (epoch 2, batch 1): \
                                       the loss (`binaryCrossEntropy`) reached " "xor: at the loss line"
            Expect.stringContains first "try a smaller learning rate" "hint"
            Expect.stringContains err "18 |     loss      = binaryCrossEntropy" "source line"
            let code, _, err =
                nn dir [ "train"; "iris.nn"; "--set"; "optimizer=sgd { lr = 1e30 }"; "--set"; "epochs=5"; "--quiet"
                         "--out"; "b" ]
            Expect.equal code 1 "iris: exit code"
            Expect.stringContains err "error NN0620: training diverged at step 2 (epoch 1, batch 2): the loss \
                                       (`softmaxCrossEntropy`)" "iris"
            let code, _, err =
                nn dir [ "train"; "xor.nn"; "--set"; "optimizer=sgd { lr = 1e10 }"; "--set"; "epochs=50"
                         "--set"; "divergence=0"; "--quiet"; "--out"; "c" ]
            Expect.equal code 0 (sprintf "divergence = 0 turns the guard off (stderr: %s)" err)
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "divergence=0.5" ]
            Expect.equal code 1 "a factor below 1"
            Expect.stringContains err "error NN0407: " "a bad number in train"
            Expect.stringContains err "must be 0 (off) or a factor of at least 1" "says the rule"
        }

        test "--set of an unknown field is NN0401 at the name; a bad engine is a user error" {
            let dir = sandbox [ "xor.nn" ]
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epoch=3" ]
            Expect.equal code 1 "unknown field"
            let expected = "--set(1,1): error NN0401: `--set epoch`: the program has no train field or top-level \
                            `let` named `epoch`; did you mean `epochs`? (train fields: "
            Expect.stringStarts (err.Replace("\r\n", "\n")) expected "diagnostic"
            Expect.stringContains err "; top-level lets: none)\n  |\n1 | epoch=3\n  | ^^^^^" "the lets, the caret"
            let code, _, err = nn dir [ "train"; "xor.nn"; "--engine"; "gpu" ]
            Expect.equal code 1 "bad engine"
            Expect.equal (err.Trim()) "nn: --engine must be one of fused, reference, got `gpu`" "message"
        }

        test "--set errors render with the override as the source line, each override on its own line" {
            let dir = sandbox [ "xor.nn" ]
            let code, _, err =
                nn dir [ "train"; "xor.nn"; "--set"; "epochs=3"; "--set"; "optimizer=adam { lr = 0.1"; "--quiet" ]
            Expect.equal code 1 "a parse error"
            let lines = err.Replace("\r\n", "\n").Split('\n')
            Expect.equal lines[0] "--set(2,26): error NN0102: expected `}` to close the record, but the file ended"
                "at the end of the second override"
            Expect.equal lines[1..3] [| "  |"; "2 | optimizer=adam { lr = 0.1"; "  |                          ^" |]
                "source line and caret"
            let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "clip=norm -2"; "--quiet" ]
            Expect.equal code 1 "a bad setting"
            let expected = "--set(1,11): error NN0411: `clip = norm` needs a positive limit, got -2\n  |\n\
                            1 | clip=norm -2\n  |           ^^"
            Expect.stringStarts (err.Replace("\r\n", "\n")) expected "the setting's error at its value"
            Expect.isFalse (Directory.Exists(Path.Combine(dir, "runs"))) "no run folder was made"
        }
    ]
