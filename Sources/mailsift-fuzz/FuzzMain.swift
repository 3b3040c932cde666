import Foundation
import FuzzTargets

#if FUZZING
// libFuzzer (tools/fuzz/run.sh builds with -DFUZZING -sanitize=fuzzer,address): SwiftPM names
// an executable's entry point `<module>_main`, so that runs libFuzzer's driver; the target
// comes from MAILSIFT_FUZZ_TARGET.
nonisolated(unsafe) var target = ""

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.run(target, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_cdecl("mailsift_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    if let dir = ProcessInfo.processInfo.environment["MAILSIFT_FUZZ_WRITE_SEEDS"] {
        FuzzTargets.writeSeeds(to: dir)
        return 0
    }
    target = ProcessInfo.processInfo.environment["MAILSIFT_FUZZ_TARGET"] ?? ""
    guard FuzzTargets.names.contains(target) else {
        FileHandle.standardError.write(Data("set MAILSIFT_FUZZ_TARGET to one of: \(FuzzTargets.names.joined(separator: " "))\n".utf8))
        return 2
    }
    // Shared state (the sample index, the daemon) is built before the first input, so its
    // allocations are not charged to an input by the leak check.
    FuzzTargets.prepare(target)
    var count = argc
    var args = argv
    return runDriver(&count, &args, testOneInput)
}
#else
/// Without libFuzzer: `mailsift-fuzz TARGET PATH...` runs each file (or every file under a
/// directory) through the target, as the regression tests do; `mailsift-fuzz seeds DIR` writes
/// the built-in seeds of every target to DIR/TARGET/.
@main
struct FuzzMain {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let first = args.first else {
            print("usage: mailsift-fuzz TARGET PATH... | mailsift-fuzz seeds DIR\ntargets: \(FuzzTargets.names.joined(separator: " "))")
            exit(2)
        }
        let fm = FileManager.default
        if first == "seeds", args.count == 2 {
            FuzzTargets.writeSeeds(to: args[1])
            return
        }
        guard FuzzTargets.names.contains(first) else {
            print("unknown target \(first); targets: \(FuzzTargets.names.joined(separator: " "))")
            exit(2)
        }
        var count = 0
        for path in args.dropFirst() {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            let files = isDir.boolValue ? ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
            for file in files {
                guard let data = fm.contents(atPath: file) else { continue }
                FuzzTargets.run(first, Array(data))
                count += 1
            }
        }
        print("\(first): \(count) inputs, no crash")
    }
}
#endif
