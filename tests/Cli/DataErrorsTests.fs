/// Every bad-data error through the command line, with its exact message, pointing at the `data` field.
module Nn.Tests.Cli.DataErrors

open System
open System.Diagnostics
open System.IO
open System.IO.Compression
open Expecto
open Nn.Runtime.Data

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: exit code, stdout, stderr.
let private nn = Nn.Tests.TestUtil.runNn []

/// The data files every case may use.
let private files =
    [ "ragged.csv", "a,b,y\n1,2,3\n4,5\n"
      "nan.csv", "a,b,y\n1,x,3\n"
      "empty.csv", ""
      "norows.csv", "a,b,y\n"
      "quote.csv", "a,b,y\n1,\"2,3\n"
      "ok.csv", "a,b,y\n1,2,3\n"
      "bad.npy", "garbage"
      "nanval.csv", "a,b,y\n1,2,3\n4,NaN,6\n"
      "inf.csv", "a,b,y\n1,Inf,3\n"
      "infsym.csv", "a,b,y\n1,2,∞\n"
      "big.csv", "a,b,y\n1e39,2,3\n"
      "nul.csv", "a,b,y\n1,3\u0000,3\n" ]

/// Binary data files: .npy arrays, and a gzip CSV cut exactly after its first row.
let private binaryFiles (dir: string) =
    let at name = Path.Combine(dir, name)
    Npy.Write(at "x10.npy", HostTensor([| 10; 2 |], Array.init 20 float32))
    Npy.Write(at "y8.npy", HostTensor([| 8; 1 |], Array.zeroCreate 8))
    Npy.Write(at "scalar.npy", HostTensor([||], [| 1.0f |]))
    Npy.Write(at "ynan.npy", HostTensor([| 10; 1 |], Array.init 10 (fun i -> if i = 2 then nanf else 0.0f)))
    use ms = new MemoryStream()
    let mutable cut = 0
    (use z = new GZipStream(ms, CompressionLevel.Optimal, true)
     let write (s: string) = let b = Text.Encoding.ASCII.GetBytes s in z.Write(b, 0, b.Length)
     write "a,b,y\n1,2,3\n"
     z.Flush()
     cut <- int ms.Length
     write "4,5,6\n7,8,9\n")
    File.WriteAllBytes(at "cut.csv.gz", ms.ToArray()[.. cut - 1])

/// A model whose train block reads `data`; the data field is on line 5 from column 12.
let private model (data: string) =
    sprintf "network m (x: [n, 2]) : [n, 1] =\n    x |> dense 1\n\n\
             train m {\n    data = %s\n    loss = mse\n    epochs = 1\n}\n" data

/// (name, data expression, expected first line of the diagnostic after `m.nn(5,12): error `)
let private cases =
    [ "missing file", "csv \"nothere.csv\" { features = [0; 1]; label = \"y\" }", "NN0501: nothere.csv: file not found \
        (looked for nothere.csv)"
      "ragged row", "csv \"ragged.csv\" { features = [0; 1]; label = \"y\" }", "NN0521: ragged.csv row 3: 2 fields, \
          expected 3 as in the header"
      "not a number", "csv \"nan.csv\" { features = [0; 1]; label = \"y\" }", "NN0522: nan.csv row 2, column 2 \
          (b): `x` is not a number"
      "empty CSV", "csv \"empty.csv\" { features = [0; 1]; label = \"y\" }", "NN0520: empty.csv: the file is empty; \
          expected a header row naming the columns"
      "header only", "csv \"norows.csv\" { features = [0; 1]; label = \"y\" }", "NN0525: norows.csv: the file has \
          a header row but no data rows"
      "unclosed quote", "csv \"quote.csv\" { features = [0; 1]; label = \"y\" }", "NN0524: quote.csv row 2, column 2: \
          a quoted field is never closed (missing `\"`)"
      "unknown column", "csv \"ok.csv\" { features = [0; 1]; label = \"z\" }", "NN0523: ok.csv: no column named \
          `z`; the header has a, b, y"
      "not NPY", "npy \"bad.npy\" \"bad.npy\"", "NN0530: bad.npy: not an NPY file: it does not start with \
                                                 the magic bytes \\x93NUMPY"
      "not IDX", "idx \"ok.csv\" \"ok.csv\"", "NN0510: ok.csv: wrong magic number 0x612C622C, expected \
                                               0x00000803 (IDX images)"
      "a NaN cell", "csv \"nanval.csv\" { features = [0; 1]; label = \"y\" }", "NN0542: nanval.csv row 3, column 2 \
          (b): `NaN` is not a finite number; training needs finite numbers (drop the row or fill the cell in)"
      "an Inf cell", "csv \"inf.csv\" { features = [0; 1]; label = \"y\" }", "NN0542: inf.csv row 2, column 2 (b): \
          `Inf` is not a finite number; training needs finite numbers (drop the row or fill the cell in)"
      "an ∞ label", "csv \"infsym.csv\" { features = [0; 1]; label = \"y\" }", "NN0542: infsym.csv row 2, column 3 \
          (y): `∞` is not a finite number; training needs finite numbers (drop the row or fill the cell in)"
      "an overflowing cell", "csv \"big.csv\" { features = [0; 1]; label = \"y\" }", "NN0542: big.csv row 2, column 1 \
          (a): `1e39` is too large for a 32-bit float (the largest is about 3.4e38); training needs finite numbers \
          (drop the row or fill the cell in)"
      "a NUL byte in a cell", "csv \"nul.csv\" { features = [0; 1]; label = \"y\" }", "NN0526: nul.csv row 2, column \
          2: the cell holds a NUL byte (\\0); a CSV file is text (is this a binary file, or UTF-16? save it as UTF-8)"
      "a NaN in .npy targets", "npy \"x10.npy\" \"ynan.npy\"", "NN0542: ynan.npy row 3, column 1 (ynan[2, 0]): the \
                                                                value is NaN; training needs finite numbers"
      "npy row counts differ", "npy \"x10.npy\" \"y8.npy\"", "NN0534: x10.npy holds 10 rows but y8.npy holds 8; \
                                                              features and targets need the same number of \
                                                              rows (their first axis)"
      "a 0-d npy target", "npy \"x10.npy\" \"scalar.npy\"", "NN0534: scalar.npy: the targets are a 0-d array (shape \
                                                             ()), a single value with no rows; x10.npy holds 10 rows, \
                                                             so the targets need shape (10, ...)"
      "a folder as data", "csv \"sub\" { features = [0; 1]; label = \"y\" }", "NN0504: sub: sub is a folder, not \
          a regular file; data is read from files"
      "the zero device as data", "csv \"/dev/zero\" { features = [0; 1]; label = \"y\" }", "NN0504: zero: /dev/zero is \
          a character device, not a regular file; data is read from files"
      "rows of the wrong shape", "csv \"ok.csv\" { features = [0]; label = \"y\" }", "NN0550: the data's rows have the \
          shape [1], but the network `m` takes [n, 2] (rows of [2])" ]

let private sandbox () =
    let d = Path.Combine(Path.GetTempPath(), "nn-cli-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    for name, text in files do File.WriteAllText(Path.Combine(d, name), text)
    binaryFiles d
    Directory.CreateDirectory(Path.Combine(d, "sub")) |> ignore
    d

[<Tests>]
let tests =
    testList "Cli.DataErrors" [
        for name, data, expected in cases do
          yield
            test (sprintf "%s: exact message at the data field" name) {
                let dir = sandbox ()
                File.WriteAllText(Path.Combine(dir, "m.nn"), model data)
                let code, _, err = nn dir [ "train"; "m.nn" ]
                Expect.equal code 1 "exit code"
                let lines = err.Replace(dir + "/", "").Replace("\r\n", "\n").Split('\n')
                Expect.equal lines[0] ("m.nn(5,12): error " + expected) "first line"
                Expect.equal lines[2] (sprintf "5 |     data = %s" data) "the data line"
                Expect.equal lines[3] ("  |            " + String('^', data.Length)) "carets under the data field"
                Expect.isFalse (err.Contains "   at ") "no stack trace"
            }

        yield test "a NaN cell stops nn train before training, leaving no run folder" {
            let dir = sandbox ()
            let data = "csv \"nanval.csv\" { features = [0; 1]; label = \"y\" }"
            File.WriteAllText(Path.Combine(dir, "m.nn"), model data)
            let code, _, err = nn dir [ "train"; "m.nn" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "error NN0542" "a data error"
            Expect.isFalse (err.Contains "NN0612") "not a divergence during training"
            Expect.isFalse (Directory.Exists(Path.Combine(dir, "runs"))) "no run folder"
        }

        yield test "a gzip CSV cut exactly at a row boundary is a truncated stream, not one row of data" {
            let dir = sandbox ()
            let data = "csv \"cut.csv.gz\" { features = [0; 1]; label = \"y\" }"
            File.WriteAllText(Path.Combine(dir, "m.nn"), model data)
            let code, _, err = nn dir [ "train"; "m.nn"; "--set"; "epochs=1" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err "error NN0503: cut.csv.gz: the gzip data is truncated" "message"
            Expect.isFalse (Directory.Exists(Path.Combine(dir, "runs"))) "no run folder"
        }

        yield test "a bad --input of nn predict names the input file" {
            let dir = sandbox ()
            File.WriteAllText(Path.Combine(dir, "m.nn"), model "rows [ [1; 2], [3] ]")
            let code, _, err = nn dir [ "train"; "m.nn"; "--out"; "run"; "--quiet" ]
            Expect.equal code 0 (sprintf "training (stderr: %s)" err)
            let code, _, err = nn dir [ "predict"; "m.nn"; "--weights"; "run"; "--input"; "nan.csv" ]
            Expect.equal code 1 "exit code"
            Expect.equal (err.Trim()) "nan.csv: error NN0522: nan.csv row 2, column 2 (b): `x` is not a number\n\n\
                                       1 error" "message"
            let code, _, err = nn dir [ "predict"; "m.nn"; "--weights"; "run"; "--input"; "points.txt" ]
            Expect.equal code 1 "unknown format"
            Expect.equal (err.Trim()) "nn: --input: `points.txt` is not .npy, .csv or IDX (.idx, *-ubyte)" "message"
        }
    ]
