/// Lines stay within 120 characters (issue #17.5) in the source, tests and benchmarks: C# and F# files.
module Nn.Tests.Repository.LineLengthTests

open System
open System.IO
open Expecto
open Nn.Tests.TestUtil

/// The longest line allowed, in characters (Unicode scalar values, so `→` or `µ` count once).
let maxLength = 120

/// The folders scanned, from the repository root, and the file kinds checked in them.
let private folders = [ "src"; "tests"; "bench" ]
let private extensions = set [ ".cs"; ".fs"; ".fsi" ]

/// A path relative to the repository root, with `/` separators.
let private relative (path: string) = Path.GetRelativePath(repoRoot, path).Replace('\\', '/')

/// The characters of a line, counting a surrogate pair as one.
let lineLength (line: string) = line.TrimEnd('\r').EnumerateRunes() |> Seq.length

/// `file:line (length)` for every line of `path` longer than `maxLength`.
let longLines (path: string) =
    File.ReadAllLines path
    |> Array.indexed
    |> Array.choose (fun (i, line) ->
        let n = lineLength line
        if n > maxLength then Some(sprintf "%s:%d (%d characters)" (relative path) (i + 1) n) else None)
    |> List.ofArray

/// The C# and F# files under the scanned folders, build output (bin, obj) left out.
let sourceFiles () =
    let rec walk (dir: string) =
        seq {
            for f in Directory.EnumerateFiles dir do
                if extensions.Contains(Path.GetExtension f) then yield f
            for d in Directory.EnumerateDirectories dir do
                let name = Path.GetFileName d
                if name <> "bin" && name <> "obj" && not (name.StartsWith ".") then yield! walk d
        }
    [ for folder in folders do
          let dir = Path.Combine(repoRoot, folder)
          if Directory.Exists dir then yield! walk dir ]
    |> List.sortBy relative

[<Tests>]
let tests =
    testList "Repository.LineLength" [
        test "no line in src/, tests/ or bench/ is over 120 characters" {
            let files = sourceFiles ()
            Expect.isGreaterThan files.Length 100 "the scan finds the sources"
            let found = files |> List.collect longLines
            let listing = String.concat "\n" found
            Expect.isEmpty found (sprintf "lines over %d characters (wrap them):\n%s" maxLength listing)
        }
        test "the scan counts characters, not bytes or UTF-16 units, and reports file:line" {
            withTempDir "nn-lines-" (fun dir ->
                let path = Path.Combine(dir, "x.fs")
                let fits = String('a', 119) + "→" // 120 characters, 122 bytes in UTF-8
                let pair = String('b', 119) + "𝔸" // 120 characters, 121 UTF-16 units
                let over = String('c', 121)
                File.WriteAllLines(path, [| fits; pair; over; "" |])
                Expect.equal (lineLength fits, lineLength pair, lineLength over) (120, 120, 121) "lengths"
                Expect.equal (longLines path |> List.map (fun s -> s.Substring(s.LastIndexOf ':')))
                    [ ":3 (121 characters)" ] "only the third line")
        }
    ]
