import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Starts mongo-java-server (in-memory backend) with its oplog enabled, so that collection-level
 * change streams work, on a loopback address. Used by scripts/services.sh; not part of the library.
 *
 * Usage: java -cp "libs/*:classes" MongoLauncher [--host 127.0.0.1] [--port 27117] [--wire-version 9]
 *
 * --wire-version: the maxWireVersion the server reports. mongo-java-server 1.47.0 reports 8
 * (server version 5.0.0), but the Node driver 7.6+ refuses servers below wire version 9 (MongoDB
 * 4.4), so the default here is 9 with server version 4.4.0. 0 keeps the library's own values.
 *
 * Prints "READY mongodb://host:port" on stdout once it accepts connections.
 */
public final class MongoLauncher {
    private MongoLauncher() {}

    public static void main(String[] args) throws Exception {
        serve(args, new MemoryBackend(), 27117, "");
    }

    /** Serves `backend` (any MemoryBackend, e.g. a probe's) with the flags above; never returns. */
    public static void serve(String[] args, MemoryBackend backend, int defaultPort, String note) throws Exception {
        String host = "127.0.0.1";
        int port = defaultPort;
        int wireVersion = 9;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--host" -> { host = required(args[i], value); i++; }
                case "--port" -> { port = Integer.parseInt(required(args[i], value)); i++; }
                case "--wire-version" -> { wireVersion = Integer.parseInt(required(args[i], value)); i++; }
                default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
            }
        }

        if (wireVersion > 0) {
            final int wire = wireVersion;
            backend.version(new MongoVersion() {
                @Override public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
                @Override public int getWireVersion() { return wire; }
            });
        }

        MongoServer server = new MongoServer(backend);
        server.enableOplog(); // off by default (no-op oplog); collection.watch() needs it
        server.bind(host, port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-shutdown"));
        System.out.println("READY mongodb://" + host + ":" + port + note);
        System.out.flush();
        new CountDownLatch(1).await();
    }

    private static String required(String flag, String value) {
        if (value == null) throw new IllegalArgumentException(flag + " needs a value");
        return value;
    }
}
