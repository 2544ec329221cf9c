import CLZ4
import CSnappy
import CZlib
import CZstd

/// Versions of the compression libraries linked in (shown by `lab kafka --version` and traces).
public enum CompressionLibraries {
    public static var versions: String {
        "zlib \(String(cString: zlibVersion())), lz4 \(LZ4_versionNumber()), zstd \(ZSTD_versionNumber()), snappy (libsnappy)"
    }
}
