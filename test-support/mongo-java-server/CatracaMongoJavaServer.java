import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.List;

/**
 * mongo-java-server's in-memory backend, adjusted just enough for the Node.js driver 7 to talk to it:
 * - reports wire version 9 (MongoDB 4.4; the library's newest setting reports 8, which driver 7 refuses);
 * - reports logicalSessionTimeoutMinutes, so the driver opens sessions and sends transactions;
 * - answers commitTransaction, abortTransaction, endSessions and collMod with ok and does nothing: there are NO
 *   transactions (every write applies at once, an abort rolls nothing back, no isolation) and no validators.
 * Usage: java -cp <classpath> CatracaMongoJavaServer.java <port>
 */
public class CatracaMongoJavaServer {
  static final class Backend extends MemoryBackend {
    @Override
    public Document handleCommand(Channel channel, String database, String command, Document query) {
      switch (command) {
        case "commitTransaction", "abortTransaction", "endSessions", "killSessions", "collMod" -> {
          Document ok = new Document();
          ok.put("ok", 1.0);
          return ok;
        }
        default -> {
          Document reply = super.handleCommand(channel, database, command, query);
          if (command.equalsIgnoreCase("ismaster") || command.equals("hello")) {
            reply.put("logicalSessionTimeoutMinutes", 30);
          }
          return reply;
        }
      }
    }
  }

  public static void main(String[] args) throws Exception {
    MongoVersion version = new MongoVersion() {
      public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
      public int getWireVersion() { return 9; }
    };
    MongoServer server = new MongoServer(new Backend().version(version));
    server.bind("127.0.0.1", Integer.parseInt(args[0]));
    System.out.println("mongo-java-server listening on 127.0.0.1:" + args[0]);
    Thread.currentThread().join();
  }
}
