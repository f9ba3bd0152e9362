/// Validation and test rows from files (issue #19 point 5): `validation = csv "val.csv"` against the same rows held
/// out by a fraction, `nn eval --data` on other files, and `nn eval` with a run's own `--set` metrics.
module Nn.Tests.Cli.ValidationData

open System
open System.IO
open Expecto
open Nn.Tests
open Nn.Runtime.Data

let private nn = TestUtil.runNn []

let private iris (data: string) (validation: string) =
    """network iris (x: [n, 4]) : [n, 3] =
    x |> standardize |> dense 8 |> tanh |> dense 3

train iris {
    data       = csv "DATA" { features = [0; 1; 2; 3]; label = "species" }
    validation = VALIDATION
    loss       = softmaxCrossEntropy
    metrics    = [accuracy]
    optimizer  = adam { lr = 0.01 }
    batch      = 16
    epochs     = 3
    schedule   = reduceOnPlateau { monitor = validationAccuracy; patience = 0 }
    seed       = 7
}
"""
        .Replace("DATA", data).Replace("VALIDATION", validation)

/// A folder with iris.csv's rows reordered (row i of all.csv is row 7i mod 150 of iris.csv, so the classes mix),
/// all.csv cut into train.csv (its first 105 rows) and val.csv (its last 45), and the programs `fraction.nn`
/// (`validation = 0.3` of all.csv) and `file.nn` (train.csv, `validation = csv "val.csv"`).
let private folder =
    lazy
        (let dir = TestUtil.tempDir "nn-valdata-cli-"
         let lines = File.ReadAllLines(Path.Combine(TestUtil.repoRoot, "examples", "data", "iris.csv"))
         let rows = Array.init 150 (fun i -> lines[1 + (7 * i) % 150])
         let write name (rs: string[]) = File.WriteAllLines(Path.Combine(dir, name), Array.append [| lines[0] |] rs)
         write "all.csv" rows
         write "train.csv" rows[..104]
         write "val.csv" rows[105..]
         File.WriteAllText(Path.Combine(dir, "fraction.nn"), iris "all.csv" "0.3")
         File.WriteAllText(Path.Combine(dir, "file.nn"), iris "train.csv" "csv \"val.csv\"")
         for program, run in [ "fraction.nn", "fraction"; "file.nn", "file" ] do
             let code, _, err = nn dir [ "train"; program; "--out"; run ]
             if code <> 0 then failwithf "training %s failed: %s" program err
         dir)

/// metrics.csv of a run without its `seconds` column.
let private metrics (dir: string) (run: string) =
    File.ReadAllLines(Path.Combine(dir, run, "metrics.csv"))
    |> Array.map (fun l -> let c = l.Split ',' in c[.. c.Length - 2])

/// The classes of a CSV file's `species` column in order of first appearance.
let private firstSeen (file: string) =
    File.ReadAllLines file |> Array.skip 1 |> Array.map (fun l -> l.Split(',')[4]) |> Array.distinct

/// A line fitted to NPY features and targets, validated on NPY files of its own.
let private npyProgram =
    """network line (x: [n, 2]) : [n, 1] =
    x |> dense 1

train line {
    data       = npy "x.npy" "y.npy"
    validation = npy "vx.npy" "vy.npy"
    loss       = mse
    epochs     = 2
}
"""

[<Tests>]
let tests =
    testList "Cli.ValidationData" [
        test "validation from a CSV file gives the metrics of the same rows held out by a fraction" {
            let dir = folder.Force()
            // the files number their text labels by first appearance: val.csv's order differs from train.csv's,
            // so equal metrics need its labels renumbered as training numbers them
            Expect.notEqual (firstSeen (Path.Combine(dir, "val.csv"))) (firstSeen (Path.Combine(dir, "train.csv")))
                "the class order of the two files"
            let fraction, file = metrics dir "fraction", metrics dir "file"
            Expect.equal fraction[0] [| "epoch"; "loss"; "accuracy"; "val_loss"; "val_accuracy"; "lr" |] "columns"
            Expect.equal fraction.Length 4 "three epochs"
            Expect.equal file fraction "every value of every epoch (bit for bit: the same rows in the same order)"
            // reduceOnPlateau watched the validation accuracy (flat on these rows) and lowered the rate: the
            // schedule saw the validation values of the file as those of the fraction
            Expect.equal (fraction[1..] |> Array.map (fun r -> r[5])) [| "0.01"; "0.01"; "0.001" |] "lr by epoch"
        }

        test "nn eval --data evaluates on all rows of another file of the data's form" {
            let dir = folder.Force()
            let code, ownRows, err = nn dir [ "eval"; "fraction.nn"; "--weights"; "fraction" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            let code, other, err = nn dir [ "eval"; "fraction.nn"; "--weights"; "fraction"; "--data"; "val.csv" ]
            Expect.equal code 0 (sprintf "eval --data (stderr: %s)" err)
            Expect.stringContains other "on all 45 rows of val.csv" "which rows"
            let last (s: string) = s.Trim().Split('\n') |> Array.last
            Expect.equal (last other) (last ownRows) "val.csv holds the validation rows of the fraction split"
            // the last epoch's validation values of metrics.csv, as eval prints them
            let row = (metrics dir "fraction")[3]
            let shown (v: string) = Double.Parse(v, Globalization.CultureInfo.InvariantCulture).ToString("F4")
            Expect.equal (last other) (sprintf "loss %s  accuracy %s" (shown row[3]) (shown row[4])) "as trained"
            let code, trainRows, err =
                nn dir [ "eval"; "file.nn"; "--weights"; "file"; "--data"; "train.csv" ]
            Expect.equal code 0 (sprintf "eval --data train.csv (stderr: %s)" err)
            Expect.stringContains trainRows "on all 105 rows of train.csv" "the training file"
            let row = (metrics dir "file")[3]
            Expect.isMatch (last trainRows) @"^loss \d\.\d{4}  accuracy \d\.\d{4}$" "loss and accuracy"
            Expect.notEqual (last trainRows) (sprintf "loss %s  accuracy %s" (shown row[3]) (shown row[4]))
                "other rows than the validation rows"
        }

        test "nn eval shows the metrics a run was trained with (--set metrics=...)" {
            let dir = folder.Force()
            let code, _, err =
                nn dir [ "train"; "fraction.nn"; "--out"; "f1run"; "--set"; "metrics=[accuracy; f1]" ]
            Expect.equal code 0 (sprintf "train (stderr: %s)" err)
            let code, out, err = nn dir [ "eval"; "fraction.nn"; "--weights"; "f1run" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            let lines = File.ReadAllLines(Path.Combine(dir, "f1run", "metrics.csv"))
            let header, last = lines[0].Split ',', lines[3].Split ','
            let value name =
                Double.Parse(last[Array.IndexOf(header, name)], Globalization.CultureInfo.InvariantCulture)
                    .ToString("F4")
            Expect.equal (out.Trim().Split('\n') |> Array.last)
                (sprintf "loss %s  accuracy %s  f1 %s" (value "val_loss") (value "val_accuracy") (value "val_f1"))
                "the run's metrics, with the values of its last epoch"
        }

        test "nn eval --data with files that do not fit the data's form is NN0453 at `data`" {
            let dir = folder.Force()
            let code, _, err =
                nn dir [ "eval"; "fraction.nn"; "--weights"; "fraction"; "--data"; "val.csv"; "--data"; "x.csv" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err
                ("fraction.nn(5,18): error NN0453: `--data` gives 2 files, "
                 + "but `data` reads one CSV file: `--data file.csv`")
                "message"
            Expect.stringContains err "5 |     data       = csv \"all.csv\"" "the source line"
            Expect.isFalse (err.Contains "Exception") "no stack trace"
        }

        test "nn check finds a validation source of another form (NN0450) without reading any file" {
            let dir = folder.Force()
            File.WriteAllText(Path.Combine(dir, "npy.nn"), iris "all.csv" "npy \"nothere.npy\" \"nothere2.npy\"")
            let code, out, err = nn dir [ "check"; "npy.nn" ]
            Expect.equal code 1 (sprintf "exit code (stdout: %s)" out)
            Expect.stringContains err "npy.nn(6,18): error NN0450: `validation` reads `npy`, but `data` reads `csv`"
                "message"
        }

        test "validation and nn eval --data from NPY files: features and targets given in turn" {
            let dir = folder.Force()
            let write name shape (data: float32[]) = Npy.Write(Path.Combine(dir, name), HostTensor(shape, data))
            // y = x1 - x2 on a few points; validation on others
            let xs = [| 0f; 0f; 1f; 0f; 0f; 1f; 1f; 1f; 2f; 1f; 1f; 2f |]
            write "x.npy" [| 6; 2 |] xs
            write "y.npy" [| 6; 1 |] (Array.init 6 (fun i -> xs[2 * i] - xs[2 * i + 1]))
            write "vx.npy" [| 2; 2 |] [| 3f; 1f; 1f; 3f |]
            write "vy.npy" [| 2; 1 |] [| 2f; -2f |]
            File.WriteAllText(Path.Combine(dir, "npy2.nn"), npyProgram)
            let code, _, err = nn dir [ "train"; "npy2.nn"; "--out"; "npyrun" ]
            Expect.equal code 0 (sprintf "train (stderr: %s)" err)
            let code, own, err = nn dir [ "eval"; "npy2.nn"; "--weights"; "npyrun" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            Expect.stringContains own "on the validation rows (2)" "the validation file's rows"
            let code, other, err =
                nn dir [ "eval"; "npy2.nn"; "--weights"; "npyrun"; "--data"; "vx.npy"; "--data"; "vy.npy" ]
            Expect.equal code 0 (sprintf "eval --data (stderr: %s)" err)
            Expect.stringContains other "on all 2 rows of vx.npy and vy.npy" "which rows"
            let last (s: string) = s.Trim().Split('\n') |> Array.last
            Expect.equal (last other) (last own) "the same rows, the same loss"
        }
    
        test "docs/language.md's example trains with validation rows from its file and evaluates --data" {
            let dir = folder.Force()
            let doc = File.ReadAllText(Path.Combine(TestUtil.repoRoot, "docs", "language.md"))
            let start = doc.IndexOf("```fsharp", doc.IndexOf "### Validation and test data from files") + 9
            let program = doc.Substring(start, doc.IndexOf("```", start) - start)
            File.Copy(Path.Combine(dir, "train.csv"), Path.Combine(dir, "iris_train.csv"), true)
            File.Copy(Path.Combine(dir, "val.csv"), Path.Combine(dir, "iris_val.csv"), true)
            File.WriteAllText(Path.Combine(dir, "doc.nn"), program)
            let code, out, err = nn dir [ "train"; "doc.nn"; "--set"; "epochs=2"; "--out"; "docrun" ]
            Expect.equal code 0 (sprintf "train (stderr: %s)" err)
            Expect.stringContains out "(validation: 45 rows)" "the validation rows are iris_val.csv's"
            let code, out, err = nn dir [ "eval"; "doc.nn"; "--weights"; "docrun"; "--data"; "iris_val.csv" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            Expect.stringContains out "on all 45 rows of iris_val.csv" "eval --data"
        }
    
        test "validation and nn eval --data from IDX files: images and labels given in turn" {
            let dir = TestUtil.examplesWithMnistHead "nn-valdata-idx-" 200
            let data name = Path.Combine(TestUtil.repoRoot, "examples", "data", name)
            TestUtil.idxHead (data "mnist10k-images-idx3-ubyte.gz") (Path.Combine(dir, "data", "vi.gz")) 30
            TestUtil.idxHead (data "mnist10k-labels-idx1-ubyte.gz") (Path.Combine(dir, "data", "vl.gz")) 30
            let code, out, err =
                nn dir [ "train"; "mnist_mlp.nn"; "--set"; "epochs=1"; "--set"; "hidden=[16]"; "--out"; "run"
                         "--set"; "validation=idx \"data/vi.gz\" \"data/vl.gz\"" ]
            Expect.equal code 0 (sprintf "train (stderr: %s)" err)
            Expect.stringContains out "(validation: 30 rows)" "the validation files' rows"
            let code, own, err = nn dir [ "eval"; "mnist_mlp.nn"; "--weights"; "run" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            Expect.stringContains own "on the validation rows (30)" "the run's validation (its --set applies)"
            let code, other, err =
                nn dir [ "eval"; "mnist_mlp.nn"; "--weights"; "run"; "--data"; "data/vi.gz"; "--data"; "data/vl.gz" ]
            Expect.equal code 0 (sprintf "eval --data (stderr: %s)" err)
            Expect.stringContains other "on all 30 rows of vi.gz and vl.gz" "which rows"
            let last (s: string) = s.Trim().Split('\n') |> Array.last
            Expect.equal (last other) (last own) "the same rows, the same loss and accuracy"
            Directory.Delete(dir, true)
        }
    ]
