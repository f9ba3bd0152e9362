/// Hostile files: devices, FIFOs and folders are refused before they are opened; gzip streams are read no further
/// than declared (a small gzip bomb is refused without being read), and a truncated stream is an error.
module Nn.Tests.Runtime.Data.FileBytesTests

open System
open System.Diagnostics
open System.IO
open System.IO.Compression
open System.Text
open System.Threading.Tasks
open Expecto
open Nn.Runtime.Data

let private withTemp f = Nn.Tests.TestUtil.withTempDir "nn-bytes-" f

let private dataError f = Nn.Tests.TestUtil.dataError f

/// One gzip member holding `bytes`.
let private gzip bytes = Nn.Tests.TestUtil.gzip bytes

/// A small gzip bomb: `first`, then `megabytes` members of 1 MiB of zeros each (about 1 KiB compressed each). Its
/// trailer (the last member's) declares 1 MiB, so it holds far more than declared.
let private bomb (first: byte[]) megabytes =
    let zeros = gzip (Array.zeroCreate (1 <<< 20))
    Array.concat [ yield gzip first; for _ in 1 .. megabytes -> zeros ]

/// The bytes allocated on this thread while `f` runs (the readers run on the caller's thread).
let private allocated f =
    let before = GC.GetAllocatedBytesForCurrentThread()
    let result = f ()
    GC.GetAllocatedBytesForCurrentThread() - before, result

/// A CSV of `rows` rows compressed so that the stream can be cut exactly after `cut` rows: the compressor is flushed
/// there, so the compressed bytes up to that point decompress to exactly those rows. (compressed, cut point)
let private csvFlushedAt rows cut =
    let row i = Encoding.ASCII.GetBytes(sprintf "%d,%d,%d\n" i (i * 2) (i % 3))
    use ms = new MemoryStream()
    let mutable at = 0
    (use z = new GZipStream(ms, CompressionLevel.Optimal, true)
     let header = Encoding.ASCII.GetBytes "a,b,y\n"
     z.Write(header, 0, header.Length)
     for i in 1 .. rows do
         let b = row i
         z.Write(b, 0, b.Length)
         if i = cut then
             z.Flush()
             at <- int ms.Length)
    ms.ToArray(), at

[<Tests>]
let tests =
    testList "Runtime.Data.FileBytes" [
        test "a character device is refused before it is read (/dev/zero never ends)" {
            if File.Exists "/dev/zero" then
                let e = dataError (fun () -> Csv.Read("/dev/zero", CsvSpec()))
                Expect.equal e.Code "NN0504" "code"
                Expect.equal e.Message "zero: /dev/zero is a character device, not a regular file; data is read from \
                                        files" "message"
                let e = dataError (fun () -> Npy.Read "/dev/zero")
                Expect.equal e.Code "NN0504" "NPY reads are checked too"
        }
        test "a FIFO is refused instead of waiting for a writer" {
            withTemp (fun dir ->
                let fifo = Path.Combine(dir, "pipe.csv")
                let made =
                    try
                        use p = Process.Start(ProcessStartInfo("mkfifo", fifo, UseShellExecute = false))
                        p.WaitForExit()
                        p.ExitCode = 0
                    with _ -> false
                if made then
                    // Opening a FIFO blocks until a writer comes: run the read aside and give up after 10 s.
                    let read =
                        Task.Run(fun () ->
                            try Csv.Read(fifo, CsvSpec()) |> ignore; None with :? DataException as e -> Some e)
                    Expect.isTrue (read.Wait(TimeSpan.FromSeconds 10.0)) "the read returns instead of hanging"
                    match read.Result with
                    | Some e ->
                        Expect.equal e.Code "NN0504" "code"
                        Expect.equal e.Message $"pipe.csv: {fifo} is a named pipe (FIFO), not a regular file; data is \
                                                 read from files" "message"
                    | None -> failtest "expected a DataException")
        }
        test "a folder is not a data file" {
            withTemp (fun dir ->
                let e = dataError (fun () -> Idx.ReadImages dir)
                Expect.equal e.Code "NN0504" "code"
                Expect.stringEnds e.Message " is a folder, not a regular file; data is read from files" "message")
        }
        test "a gzip bomb is refused after what its trailer declares, without reading the rest" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "bomb.csv.gz")
                File.WriteAllBytes(p, bomb (Encoding.ASCII.GetBytes "a,b\n1,2\n") 64)
                let bytes, e = allocated (fun () -> dataError (fun () -> Csv.Read(p, CsvSpec())))
                Expect.equal e.Code "NN0503" "code"
                Expect.equal e.Message ("bomb.csv.gz: the gzip data holds more than the 1048576 bytes its trailer \
                                         declares (a gzip bomb, "
                                        + "several gzip files joined into one, or data over 4 GB); it was not read \
                                           further") "message"
                // 64 MiB inside; reading it all would allocate at least that much
                Expect.isLessThan bytes (8L <<< 20) "allocated far less than the 64 MiB the file holds")
        }
        test "a gzip IDX file is read no further than its IDX header declares" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "images.gz")
                let header = [| 0uy; 0uy; 8uy; 3uy; 0uy; 0uy; 0uy; 2uy; 0uy; 0uy; 0uy; 2uy; 0uy; 0uy; 0uy; 2uy |]
                File.WriteAllBytes(p, bomb (Array.append header (Array.create 8 7uy)) 64)
                let bytes, e = allocated (fun () -> dataError (fun () -> Idx.ReadImages p))
                Expect.equal e.Code "NN0514" "code"
                Expect.equal e.Message ("images.gz: the file holds more data than its header declares: expected 8 \
                                         pixel bytes after "
                                        + "the header (2 x 2 x 2), found more; a damaged header, or a different file \
                                           appended") "message"
                Expect.isLessThan bytes (1L <<< 20) "read about the 24 bytes the header declares, not 64 MiB")
        }
        test "an uncompressed IDX file longer than its header declares is an error" {
            let bytes = Array.append (Idx.EncodeBytes([| 2 |], ReadOnlySpan [| 0uy; 1uy |])) [| 9uy |]
            let e = dataError (fun () -> Idx.Parse(ReadOnlySpan bytes, "l.idx"))
            Expect.equal e.Code "NN0514" "code"
            Expect.equal (e.ByteOffset |> Option.ofNullable) (Some 10L) "where the extra data starts"
        }
        test "a gzip CSV cut exactly at a row boundary is truncated, not a third of the rows" {
            withTemp (fun dir ->
                let packed, cut = csvFlushedAt 300 100
                let whole = Path.Combine(dir, "whole.csv.gz")
                File.WriteAllBytes(whole, packed)
                Expect.equal (Csv.Read(whole, CsvSpec())).Count 300 "the whole file has 300 rows"
                let p = Path.Combine(dir, "cut.csv.gz")
                File.WriteAllBytes(p, packed[.. cut - 1])
                use check = new GZipStream(new MemoryStream(packed[.. cut - 1]), CompressionMode.Decompress)
                use sr = new StreamReader(check)
                Expect.equal (sr.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length) 101 "the cut \
                    stream holds the header and 100 whole rows"
                let e = dataError (fun () -> Csv.Read(p, CsvSpec()))
                Expect.equal e.Code "NN0503" "code"
                Expect.stringStarts e.Message "cut.csv.gz: the gzip data is truncated" "message")
        }
        test "a gzip file without its trailer is truncated even when all its data is there" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "t.csv.gz")
                let packed = gzip (Encoding.ASCII.GetBytes "a,b\n1,2\n3,4\n")
                File.WriteAllBytes(p, packed[.. packed.Length - 9])
                let e = dataError (fun () -> Csv.Read(p, CsvSpec()))
                Expect.equal e.Code "NN0503" "code"
                Expect.stringStarts e.Message "t.csv.gz: the gzip data is truncated" "message")
        }
        test "a whole gzip file is read exactly" {
            let data = Array.init 100_000 (fun i -> byte (i * 31 % 251))
            Expect.equal (FileBytes.Gunzip(gzip data, "x.gz")) data "bytes"
            Expect.equal (FileBytes.Gunzip(gzip [| 42uy |], "one.gz")) [| 42uy |] "one byte"
        }
    ]
