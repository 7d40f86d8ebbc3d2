import java.util.Collection;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.Revoker;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Apache Curator's revocable InterProcessMutex and Revoker, driven from the revocation interoperability test.
 *
 * <pre>
 * hold &lt;connect&gt; &lt;lockPath&gt; &lt;ms&gt;
 *   makeRevocable(listener), acquire, print HELD; when asked to let go print REVOCATION_REQUESTED, release, print
 *   RELEASED and exit 0; exit 3 if nobody asked within ms.
 * revoke &lt;connect&gt; &lt;lockPath&gt;
 *   Revoker.attemptRevoke on the first participant node (the holder); prints REVOKED &lt;node&gt;, or NOBODY.
 * </pre>
 */
public final class CuratorRevocation {
  private CuratorRevocation() {}

  private static CuratorFramework client(String connect) throws InterruptedException {
    CuratorFramework client =
        CuratorFrameworkFactory.newClient(connect, 10_000, 15_000, new ExponentialBackoffRetry(100, 3));
    client.start();
    if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) throw new IllegalStateException("no connection to " + connect);
    return client;
  }

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "hold" -> System.exit(hold(args[1], args[2], Long.parseLong(args[3])));
      case "revoke" -> revoke(args[1], args[2]);
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  private static int hold(String connect, String lockPath, long ms) throws Exception {
    try (CuratorFramework client = client(connect)) {
      InterProcessMutex mutex = new InterProcessMutex(client, lockPath);
      CountDownLatch asked = new CountDownLatch(1);
      mutex.makeRevocable(lock -> asked.countDown());
      if (!mutex.acquire(60, TimeUnit.SECONDS)) throw new IllegalStateException("lock timeout");
      System.out.println("HELD");
      System.out.flush();
      if (!asked.await(ms, TimeUnit.MILLISECONDS)) {
        mutex.release();
        return 3;
      }
      System.out.println("REVOCATION_REQUESTED");
      mutex.release();
      System.out.println("RELEASED");
      System.out.flush();
      return 0;
    }
  }

  private static void revoke(String connect, String lockPath) throws Exception {
    try (CuratorFramework client = client(connect)) {
      Collection<String> nodes = new InterProcessMutex(client, lockPath).getParticipantNodes();
      String holder = nodes.stream().findFirst().orElse(null);
      if (holder == null) {
        System.out.println("NOBODY");
        return;
      }
      Revoker.attemptRevoke(client, holder);
      System.out.println("REVOKED " + holder);
    }
  }
}
