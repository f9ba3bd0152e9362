/// Data files for the fuzzer, each made from a seed: CSV (quotes, NaN, huge numbers, NUL, ragged rows, odd
/// encodings), IDX (raw and gzip, bad magic, odd types, truncated, header bombs, gzip bombs) and NPY (bad headers,
/// dtypes, shapes, truncated). A small program reads each file as its training data: in process the train plan is
/// built (the data read and checked against the network, no training); a sample runs `nn train` and `nn predict`.
module Nn.Tests.Fuzz.DataFiles

open System
open System.IO
open System.IO.Compression
open System.Text
open Nn.Compiler

/// One data case: the program that trains on the files, the files by name, and a file to give `nn predict`.
type Case =
    { Format: string
      Program: string
      Files: (string * byte[]) list
      PredictInput: string }

let private gzip bytes = Nn.Tests.TestUtil.gzip bytes

let private pick (rnd: Random) (xs: 'a[]) = xs[rnd.Next xs.Length]

/// Flip, drop, insert or duplicate a few bytes, or cut the file short.
let private damageBytes (rnd: Random) (bytes: byte[]) =
    let b = ResizeArray bytes
    for _ in 1 .. 1 + rnd.Next 3 do
        if b.Count > 0 then
            let i = rnd.Next b.Count
            match rnd.Next 5 with
            | 0 -> b[i] <- b[i] ^^^ byte (1 <<< rnd.Next 8)
            | 1 -> b.RemoveAt i
            | 2 -> b.Insert(i, byte (rnd.Next 256))
            | 3 -> b[i] <- pick rnd [| 0uy; 0xFFuy; 0x7Fuy; 0x80uy |]
            | _ -> b.RemoveRange(i, b.Count - i)
    b.ToArray()

// ---------------------------------------------------------------- CSV

let private csvCells =
    [| "NaN"; "nan"; "Infinity"; "-Inf"; "∞"; "1e39"; "-1e39"; "1e308"; "1e-320"; "3\u0000"; "\u0000"; ""; " "
       "\"1\""; "\"1,2\""; "\"unclosed"; "\"a\"\"b\""; "abc"; "0x10"; "1_000"; "1,5"; "+3"; "-0"; "1e"; "."; "--1"
       "99999999999999999999999"; "2147483648"; "-1"; "3"; "1.5"; "setosa"; "\u00a01"; "１"; "\r"; "\n" |]

/// A CSV of `rows` rows: two feature columns and a class column (0..2), with a few cells, rows or bytes damaged.
let private csvText (rnd: Random) (clean: bool) =
    let rows =
        ResizeArray(
            [ for i in 0 .. 4 + rnd.Next 12 ->
                [| sprintf "%.3f" (rnd.NextDouble() * 4.0 - 2.0); sprintf "%.3f" (rnd.NextDouble())
                   string (i % 3) |] ])
    for _ in 1 .. (if clean then 0 else rnd.Next 4) do
        let r = rows[rnd.Next rows.Count]
        match rnd.Next 5 with
        | 0 | 1 -> r[rnd.Next r.Length] <- pick rnd csvCells
        | 2 -> rows.Add(Array.append r [| pick rnd csvCells |]) // a ragged row
        | 3 -> rows.Add(r[.. rnd.Next(r.Length - 1)])
        | _ -> rows.RemoveAt(rnd.Next rows.Count)
    let headers = [| "a,b,y"; "a,b,y"; "a,b,y"; "\ufeffa,b,y"; "a,b"; "a,\"b\",y"; "a,b,y,z"; "" |]
    let header = if clean then "a,b,y" else pick rnd headers
    let eol = if clean then "\n" else pick rnd [| "\n"; "\n"; "\r\n"; "\r" |]
    header + eol + (rows |> Seq.map (String.concat ",") |> String.concat eol) + (if rnd.Next 2 = 0 then eol else "")

let private csvCase (rnd: Random) (clean: bool) =
    let text = csvText rnd clean
    let bytes = Encoding.UTF8.GetBytes text
    let bytes =
        match (if clean then 7 else rnd.Next 8) with
        | 0 -> damageBytes rnd bytes
        | 1 -> Encoding.Latin1.GetBytes text
        | _ -> bytes
    let name, bytes = if not clean && rnd.Next 5 = 0 then "d.csv.gz", gzip bytes else "d.csv", bytes
    let label = if clean then "\"y\"" else pick rnd [| "\"y\""; "\"y\""; "\"y\""; "2"; "2"; "\"missing\""; "5" |]
    let program =
        "network m (x: [n, 2]) : [n, 3] =\n    x |> dense 4 |> tanh |> dense 3\n\n"
        + sprintf "train m {\n    data = csv \"%s\" { features = [0; 1]; label = %s }\n" name label
        + "    loss = softmaxCrossEntropy\n    optimizer = adam {}\n    batch = 4\n    epochs = 1\n}\n"
    { Format = "csv"; Program = program; Files = [ name, bytes ]; PredictInput = name }

// ---------------------------------------------------------------- IDX

let private idxHeader (typeCode: byte) (dims: int[]) =
    let b = ResizeArray<byte>([ 0uy; 0uy; typeCode; byte dims.Length ])
    for d in dims do b.AddRange [ byte (d >>> 24); byte (d >>> 16); byte (d >>> 8); byte d ]
    b.ToArray()

let private elementSize (typeCode: byte) =
    match typeCode with
    | 0x0Buy -> 2
    | 0x0Cuy | 0x0Duy -> 4
    | 0x0Euy -> 8
    | _ -> 1

let private idxFile (rnd: Random) (typeCode: byte) (dims: int[]) =
    let count = dims |> Array.fold (fun a d -> a * int64 d) 1L
    let size = int (max 0L (min count 4096L)) * elementSize typeCode
    let body = Array.init size (fun _ -> byte (rnd.Next 3))
    Array.append (idxHeader typeCode dims) body

let private idxCase (rnd: Random) (clean: bool) =
    let n = 3 + rnd.Next 10
    let mutable images = idxFile rnd 0x08uy [| n; 2; 2 |]
    let mutable labels = idxFile rnd 0x08uy [| n |]
    let mutable imagesGz = not clean && rnd.Next 2 = 0
    let mutable labelsGz = not clean && rnd.Next 3 = 0
    match (if clean then 11 else rnd.Next 12) with
    | 0 -> images <- damageBytes rnd images
    | 1 -> labels <- damageBytes rnd labels
    | 2 -> images <- idxFile rnd (pick rnd [| 0x09uy; 0x0Buy; 0x0Cuy; 0x0Duy; 0x0Euy; 0x07uy; 0x0Auy |]) [| n; 2; 2 |]
    | 3 -> images <- idxFile rnd 0x08uy [| pick rnd [| 0; 1; 65535; Int32.MaxValue; -1 |]; 2; 2 |] // header bombs
    | 4 -> images <- idxFile rnd 0x08uy [| n; pick rnd [| 0; 3; 46341; 100000 |]; 2 |]
    | 5 -> labels <- idxFile rnd 0x08uy [| n + 1 |]
    | 6 ->
        // swapped
        let i = images
        images <- labels
        labels <- i
    | 7 ->
        // a gzip bomb: far more zeros than the header declares
        images <- Array.append images (Array.zeroCreate (1 <<< (16 + rnd.Next 6)))
        imagesGz <- true
    | 8 -> images <- images[.. images.Length - 2 - rnd.Next 8] // truncated
    | 9 -> images <- idxFile rnd 0x08uy (Array.init (rnd.Next 6) (fun _ -> 1 + rnd.Next 3))
    | _ -> ()
    let enc gz (b: byte[]) =
        if not gz then b
        else
            let z = gzip b
            match rnd.Next 6 with
            | 0 -> z[.. z.Length / 2] // a truncated stream
            | 1 -> damageBytes rnd z
            | 2 -> Array.append z z // two members
            | _ -> z
    let imagesName = if imagesGz then "img-idx3-ubyte.gz" else "img-idx3-ubyte"
    let labelsName = if labelsGz then "lab-idx1-ubyte.gz" else "lab-idx1-ubyte"
    let program =
        "network m (x: [n, 2, 2]) : [n, 3] =\n    x |> flatten |> dense 3\n\n"
        + sprintf "train m {\n    data = idx \"%s\" \"%s\"\n" imagesName labelsName
        + "    loss = softmaxCrossEntropy\n    optimizer = sgd {}\n    batch = 2\n    epochs = 1\n}\n"
    { Format = "idx"; Program = program; PredictInput = imagesName
      Files = [ imagesName, enc imagesGz images; labelsName, enc labelsGz labels ] }

// ---------------------------------------------------------------- NPY

let private npyFile (rnd: Random) (descr: string) (fortran: bool) (shape: string) (elements: int) (size: int) =
    let order = if fortran then "True" else "False"
    let dict = sprintf "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" descr order shape
    let headerLen = (dict.Length + 11 + 63) / 64 * 64 - 10
    let header = dict.PadRight(headerLen - 1) + "\n"
    let b = ResizeArray<byte>([| 0x93uy; byte 'N'; byte 'U'; byte 'M'; byte 'P'; byte 'Y'; 1uy; 0uy |])
    b.Add(byte (header.Length &&& 0xFF))
    b.Add(byte (header.Length >>> 8))
    b.AddRange(Encoding.ASCII.GetBytes header)
    let data = Array.zeroCreate<byte> (elements * size)
    for i in 0 .. elements - 1 do
        let v = rnd.Next 3
        let integer = descr.Contains "i" || descr.Contains "u" || descr.Contains "b"
        if integer then data[i * size] <- byte v // little-endian: the low byte first
        elif size = 4 then BitConverter.GetBytes(float32 v).CopyTo(data, i * 4)
        elif size = 8 then BitConverter.GetBytes(float v).CopyTo(data, i * 8)
        else data[i * size] <- byte v
    b.AddRange data
    b.ToArray()

let private specials =
    [| Single.NaN; Single.PositiveInfinity; Single.NegativeInfinity; Single.MaxValue; Single.Epsilon; -0.0f; 7.0f |]

let private npyCase (rnd: Random) (clean: bool) =
    let n = 2 + rnd.Next 10
    let mutable x = npyFile rnd "<f4" false (sprintf "(%d, 2)" n) (n * 2) 4
    let mutable y = npyFile rnd "<i8" false (sprintf "(%d,)" n) n 8
    match (if clean then 9 else rnd.Next 10) with
    | 0 -> x <- damageBytes rnd x
    | 1 -> y <- damageBytes rnd y
    | 2 ->
        let descr, size =
            pick rnd [| "<f8", 8; "<i4", 4; "|u1", 1; ">f4", 4; "<c8", 8; "|b1", 1; "O", 8; "<U3", 12; "<f2", 2 |]
        x <- npyFile rnd descr false (sprintf "(%d, 2)" n) (n * 2) size
    | 3 -> x <- npyFile rnd "<f4" true (sprintf "(%d, 2)" n) (n * 2) 4
    | 4 ->
        let shape = pick rnd [| "()"; "(0, 2)"; sprintf "(%d,)" (2 * n); sprintf "(%d, 2, 1)" n; "(2147483647, 2)"
                                "(-1, 2)"
                                "(99999999999, 2)"; "(3, 2"; "[3, 2]"; "(a, 2)" |]
        x <- npyFile rnd "<f4" false shape (n * 2) 4
    | 5 -> y <- npyFile rnd "<i8" false (sprintf "(%d,)" (n + 1)) (n + 1) 8
    | 6 ->
        // a NaN, an infinity or a huge value in the features
        let at = 128 + 4 * rnd.Next(n * 2)
        if at + 4 <= x.Length then BitConverter.GetBytes(pick rnd specials).CopyTo(x, at)
    | 7 -> x <- x[.. x.Length - 2 - rnd.Next 6]
    | 8 -> y <- npyFile rnd "<f8" false (sprintf "(%d, 3)" n) (n * 3) 8
    | _ -> ()
    let program =
        "network m (x: [n, 2]) : [n, 3] =\n    x |> dense 3\n\n"
        + "train m {\n    data = npy \"x.npy\" \"y.npy\"\n"
        + "    loss = softmaxCrossEntropy\n    optimizer = sgd {}\n    batch = 2\n    epochs = 1\n}\n"
    { Format = "npy"; Program = program; Files = [ "x.npy", x; "y.npy", y ]; PredictInput = "x.npy" }

/// The data case of a seed: CSV, IDX or NPY by the seed.
let caseOf (clean: bool) (seed: int) =
    let rnd = Random(seed)
    match seed % 3 with
    | 0 -> csvCase rnd clean
    | 1 -> idxCase rnd clean
    | _ -> npyCase rnd clean

/// The data case of a seed, damaged as the seed says.
let case (seed: int) = caseOf false seed

let private write (dir: string) (c: Case) =
    for name, bytes in c.Files do File.WriteAllBytes(Path.Combine(dir, name), bytes)
    let file = Path.Combine(dir, "m.nn")
    File.WriteAllText(file, c.Program)
    file

/// One data case in process: compile the program and build its train plan, which reads and checks the data.
let runInProcess (seed: int) : Oracle.Record =
    let c = case seed
    let dir = Oracle.caseDir "data" seed
    try
        let file = write dir c
        let outcome, seconds =
            Oracle.inProcess (fun () ->
                match Compile.compileFile file with
                | Error ds -> Some ds.Head.Code
                | Ok compiled ->
                    let td, env = compiled.Trains.Head
                    TrainPlan.create compiled (td, env) |> ignore
                    None)
        { Kind = "data: " + c.Format; Seed = seed; Where = "in process"; Outcome = outcome; Seconds = seconds
          PeakKb = 0L }
    finally
        Oracle.cleanUp dir

/// A run of the data programs on good data, for `nn predict` to use (made once by the caller, shared).
let trainedWeights (dir: string) (format: string) =
    let good = [ 0; 1; 2 ] |> List.map (caseOf true) |> List.find (fun c -> c.Format = format)
    write dir good |> ignore
    Oracle.nnProcess dir [ "train"; "m.nn"; "--set"; "epochs=1"; "--out"; "good"; "--quiet"; "--force" ] |> ignore
    Path.Combine(dir, "good")

/// One data case as `nn` processes: `nn train --set epochs=1` on the files, and `nn predict` on the input file
/// with weights trained on good data of the same format (`weights` by format).
let runAsProcess (weights: string -> string) (seed: int) : Oracle.Record list =
    let c = case seed
    let dir = Oracle.caseDir "data" seed
    try
        write dir c |> ignore
        let runs =
            [ [ "train"; "m.nn"; "--set"; "epochs=1"; "--out"; "run"; "--quiet" ]
              [ "predict"; "m.nn"; "--weights"; weights c.Format; "--input"; c.PredictInput; "--out"; "p.csv" ] ]
        [ for args in runs ->
            let outcome, seconds, peak, _ = Oracle.nnProcess dir args
            { Kind = sprintf "data: nn %s %s" args.Head c.Format; Seed = seed; Where = "nn"; Outcome = outcome
              Seconds = seconds; PeakKb = peak } ]
    finally
        Oracle.cleanUp dir
