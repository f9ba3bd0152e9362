/// The training plans of the examples, pinned: `nn graph FILE --step train --plan [--network NAME]` for every
/// example and every network it declares, compared byte for byte with tests/Cli/Golden/plans/ (README.md there).
module Nn.Tests.Cli.Golden.Plans

open System.IO
open System.Runtime.Intrinsics
open Expecto
open Nn.Tests
open Nn.Tests.TestUtil

/// The folder of the golden plans: `<example>.txt` for the example's default network (the one its first train block
/// trains, as `nn graph` picks it), `<example>.<network>.txt` for each other network.
let private folder = Path.Combine(repoRoot, "tests", "Cli", "Golden", "plans")

/// Every plan to pin: the example's file name, the network (None: the default) and the golden file's name.
let private cases =
    [ for file in Directory.GetFiles(Path.Combine(repoRoot, "examples"), "*.nn") |> Array.sort do
        let model = Nn.NnModel.CompileFile(file).EnsureSuccess()
        let example = Path.GetFileNameWithoutExtension file
        let main = model.Network.Name
        yield Path.GetFileName file, None, example + ".txt"
        for net in model.Networks do
            if net.Name <> main then yield Path.GetFileName file, Some net.Name, sprintf "%s.%s.txt" example net.Name ]

/// The one machine-dependent line of a plan: which weights are kept in 32-column panels. The planner only marks
/// them where the AVX-512 micro-kernel runs (`WeightLayout.Pays`, i.e. `Vector512.IsHardwareAccelerated`); every
/// other line is the same on any CPU (checked below by running nn with 512-bit vectors turned off).
let private isPanelLine (line: string) = line.StartsWith "panel layout ("

/// The golden text as a CPU without 512-bit vectors prints it: the panel line left out.
let private withoutPanels (text: string) =
    text.Split('\n') |> Array.filter (isPanelLine >> not) |> String.concat "\n"

/// `nn graph ... --step train --plan` run from examples/ (the header line names only the network, no path).
let private plan (env: (string * string) list) (file: string) (network: string option) =
    let choose = network |> Option.map (fun n -> [ "--network"; n ]) |> Option.defaultValue []
    let args = [ "graph"; file; "--step"; "train"; "--plan" ] @ choose
    let code, out, err = runNn env (Path.Combine(repoRoot, "examples")) args
    Expect.equal code 0 (sprintf "nn %s exits with 0 (stderr: %s)" (String.concat " " args) err)
    out

let private title (file: string) (network: string option) =
    file + (network |> Option.map (fun n -> " --network " + n) |> Option.defaultValue "")

[<Tests>]
let tests =
    testList "Cli.Golden.Plans" [
        testList "nn graph --step train --plan equals its golden file" [
            for file, network, golden in cases ->
                test (title file network) {
                    let actual = plan [] file network
                    let path = Path.Combine(folder, golden)
                    if Vector512.IsHardwareAccelerated then expectGolden path actual
                    elif updateGolden then
                        failtest "the golden plans hold the panel layout line: regenerate them where AVX-512 runs"
                    else
                        Expect.isTrue (File.Exists path) (sprintf "golden file %s exists" golden)
                        let expected = withoutPanels (File.ReadAllText path)
                        expectSameText golden " (its panel line left out on this CPU)" expected actual
                }
        ]
        testList "with AVX-512 off, the golden file without its panel line" [
            for file, network, golden in cases ->
                test (title file network) {
                    if not Vector512.IsHardwareAccelerated then skiptest "this CPU runs no 512-bit vectors anyway"
                    if updateGolden then skiptest "the golden files are being rewritten"
                    // DOTNET_EnableAVX512=0 makes the runtime report no AVX-512, as on an AVX2-only CPU
                    let actual = plan [ "DOTNET_EnableAVX512", "0" ] file network
                    let expected = withoutPanels (File.ReadAllText(Path.Combine(folder, golden)))
                    expectSameText golden " without its panel line (the plan with AVX-512 off)" expected actual
                    Expect.isFalse (actual.Split('\n') |> Array.exists isPanelLine) "no panel line without AVX-512"
                }
        ]
        test "every golden plan belongs to an example's network" {
            let known = cases |> List.map (fun (_, _, g) -> g) |> Set.ofList
            let files = if Directory.Exists folder then Directory.GetFiles(folder, "*.txt") else [||]
            let stale = files |> Array.map Path.GetFileName |> Array.filter (known.Contains >> not)
            Expect.isEmpty stale "golden plans whose example or network is gone (delete them)"
            Expect.isGreaterThanOrEqual known.Count 9 "the examples' 9 plans (8 files, residual.nn has 2 networks)"
        }
    ]
