import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * PROBE SHIM, not the project's test server: scripts/services/mongo/MongoLauncher.java
 * plus ONE deviation from stock mongo-java-server 1.47.0: `isMaster` replies carry `operationTime`, the
 * oplog clock's current timestamp (seconds, last increment), as a replica-set member's replies do.
 * Debezium's MongoDB snapshot needs it (MongoUtils.hello: `hello`, else `isMaster`, then
 * getTimestamp("operationTime")) to know where streaming starts after the snapshot. Used only to
 * capture snapshot ("op":"r") records; everything else is the stock server.
 *
 * Usage: java -cp "libs/*:classes" ShimMongoLauncher [--host 127.0.0.1] [--port 27218] [--wire-version 9]
 */
public final class ShimMongoLauncher {
    private ShimMongoLauncher() {}

    static final class OperationTimeBackend extends MemoryBackend {
        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            Document reply = super.handleCommand(channel, databaseName, command, query);
            if (command.equalsIgnoreCase("ismaster") && oplog != null) {
                reply.put("operationTime", oplogNow());
            }
            return reply;
        }

        private BsonTimestamp oplogNow() {
            try {
                Field clockField = oplog.getClass().getDeclaredField("oplogClock");
                clockField.setAccessible(true);
                Object clock = clockField.get(oplog);
                Method now = clock.getClass().getDeclaredMethod("now");
                now.setAccessible(true);
                return (BsonTimestamp) now.invoke(clock);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read the oplog clock", e);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        MongoLauncher.serve(args, new OperationTimeBackend(), 27218, " (shim: isMaster.operationTime)");
    }
}
