import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Apache Curator's InterProcessMutex, driven from the interoperability test and from bench:locks.
 *
 * <pre>
 * mutex &lt;connect&gt; &lt;lockPath&gt; &lt;iterations&gt; &lt;dir&gt;
 *   Each iteration: acquire; create &lt;dir&gt;/inside exclusively (it exists only while someone is inside: if it already
 *   exists, another holder is inside at the same time, and the program prints OVERLAP and exits 2); read &lt;dir&gt;/counter,
 *   pause 0-2 ms, write it + 1 (a lost update shows an overlap too); delete the marker; release. Prints DONE n.
 * hold &lt;connect&gt; &lt;lockPath&gt; &lt;ms&gt;
 *   Prints WAITING, acquires, prints HELD, keeps the lock for ms, releases, prints RELEASED.
 * bench &lt;connect&gt; &lt;lockPath&gt; &lt;cycles&gt; &lt;warmup&gt; &lt;clients&gt; &lt;threadsPerClient&gt;
 *   acquire + release cycles from clients x threads loops (one InterProcessMutex each, on the same path); prints one
 *   JSON line {"latenciesMs":[...],"elapsedMs":n}.
 * </pre>
 */
public final class CuratorInterop {
  private CuratorInterop() {}

  private static CuratorFramework client(String connect) throws InterruptedException {
    CuratorFramework client =
        CuratorFrameworkFactory.newClient(connect, 10_000, 15_000, new ExponentialBackoffRetry(100, 3));
    client.start();
    if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) throw new IllegalStateException("no connection to " + connect);
    return client;
  }

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "mutex" -> mutex(args[1], args[2], Integer.parseInt(args[3]), Path.of(args[4]));
      case "hold" -> hold(args[1], args[2], Long.parseLong(args[3]));
      case "bench" -> bench(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
          Integer.parseInt(args[5]), Integer.parseInt(args[6]));
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  private static void mutex(String connect, String lockPath, int iterations, Path dir) throws Exception {
    try (CuratorFramework client = client(connect)) {
      InterProcessMutex mutex = new InterProcessMutex(client, lockPath);
      Path inside = dir.resolve("inside");
      Path counter = dir.resolve("counter");
      System.out.println("READY");
      System.out.flush();
      for (int i = 0; i < iterations; i++) {
        if (!mutex.acquire(60, TimeUnit.SECONDS)) throw new IllegalStateException("lock timeout");
        try {
          try {
            Files.createFile(inside);
          } catch (FileAlreadyExistsException e) {
            System.out.println("OVERLAP at iteration " + i);
            System.exit(2);
          }
          int value = Integer.parseInt(Files.readString(counter, StandardCharsets.UTF_8).trim());
          Thread.sleep(ThreadLocalRandom.current().nextInt(3));
          Files.writeString(counter, Integer.toString(value + 1), StandardCharsets.UTF_8);
          Files.delete(inside);
        } finally {
          mutex.release();
        }
      }
      System.out.println("DONE " + iterations);
    }
  }

  private static void hold(String connect, String lockPath, long ms) throws Exception {
    try (CuratorFramework client = client(connect)) {
      InterProcessMutex mutex = new InterProcessMutex(client, lockPath);
      System.out.println("WAITING");
      System.out.flush();
      mutex.acquire();
      System.out.println("HELD");
      System.out.flush();
      Thread.sleep(ms);
      mutex.release();
      System.out.println("RELEASED");
    }
  }

  private static void bench(String connect, String lockPath, int cycles, int warmup, int clients, int threadsPerClient)
      throws Exception {
    List<CuratorFramework> sessions = new ArrayList<>();
    for (int c = 0; c < clients; c++) sessions.add(client(connect));
    InterProcessMutex first = new InterProcessMutex(sessions.get(0), lockPath);
    for (int i = 0; i < warmup; i++) {
      first.acquire();
      first.release();
    }
    double[] latencies = new double[cycles];
    AtomicInteger started = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    long t0 = System.nanoTime();
    for (CuratorFramework session : sessions) {
      for (int t = 0; t < threadsPerClient; t++) {
        InterProcessMutex mutex = new InterProcessMutex(session, lockPath);
        Thread thread = new Thread(() -> {
          try {
            while (started.getAndIncrement() < cycles) {
              long s = System.nanoTime();
              mutex.acquire();
              mutex.release();
              latencies[done.getAndIncrement()] = (System.nanoTime() - s) / 1e6;
            }
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        });
        thread.start();
        threads.add(thread);
      }
    }
    for (Thread thread : threads) thread.join();
    double elapsedMs = (System.nanoTime() - t0) / 1e6;
    StringBuilder out = new StringBuilder("{\"latenciesMs\":[");
    for (int i = 0; i < cycles; i++) out.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.3f", latencies[i]));
    out.append("],\"elapsedMs\":").append(String.format(Locale.ROOT, "%.3f", elapsedMs)).append('}');
    System.out.println(out);
    for (CuratorFramework session : sessions) session.close();
  }
}
