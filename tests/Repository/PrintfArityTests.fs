/// The native build generates F#'s printf instantiations (src/Cli/Aot/PrintfRoots) for formats of at most six
/// arguments: a format with a seventh compiled, ran under the JIT and failed in the native `nn` at run time ("a type
/// that was not created during ahead of time compilation"). Every format in src/ stays within six.
module Nn.Tests.Repository.PrintfArityTests

open System.IO
open System.Text.RegularExpressions
open Expecto
open Nn.Tests.TestUtil

/// The most arguments one format may take.
let maxArguments = 6

/// A printf-family call with its format on the same line.
let private call =
    Regex("\\b(?:sprintf|printfn|eprintfn|printf|eprintf|failwithf|kprintf|ksprintf|fprintf|fprintfn)\\s+"
          + "\"((?:[^\"\\\\]|\\\\.)*)\"")

/// One conversion of a format (`%d`, `%-24s`, `%5.0f`, `%O`); `%%` is a literal percent sign.
let private conversion = Regex("%[-+0 ]*[0-9*]*(?:\\.[0-9*]+)?[a-zA-Z]")

/// The arguments a format takes.
let arguments (format: string) = conversion.Matches(format.Replace("%%", "")).Count

[<Tests>]
let tests =
    testList "Repository.PrintfArity" [
        test "no printf format in src/ takes more than six arguments (the native build's limit)" {
            let files = LineLengthTests.sourceFiles () |> List.filter (fun f -> f.EndsWith ".fs")
            let src = Path.Combine(repoRoot, "src")
            let inSrc = files |> List.filter (fun f -> f.StartsWith src)
            Expect.isGreaterThan inSrc.Length 50 "the scan finds the F# sources"
            let found =
                [ for f in inSrc do
                      for i, line in Array.indexed (File.ReadAllLines f) do
                          for m in call.Matches line do
                              let n = arguments m.Groups[1].Value
                              if n > maxArguments then
                                  yield sprintf "%s:%d (%d arguments)" (Path.GetRelativePath(repoRoot, f)) (i + 1) n ]
            Expect.isEmpty found (sprintf "formats over %d arguments (split them):\n%s" maxArguments
                                      (String.concat "\n" found))
        }
        test "arguments counts conversions with flags, widths and precisions, not %%" {
            Expect.equal (arguments "peak %5.0f MB, %-24s %O %A %d%%") 5 "five conversions"
            Expect.equal (arguments "100%% done") 0 "a literal percent sign"
            Expect.equal (arguments "%s %d %s %d %d %s %s") 7 "seven"
        }
    ]
