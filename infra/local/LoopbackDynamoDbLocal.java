// Starts DynamoDB Local listening on 127.0.0.1 only (see infra/local/dynamodb.ts). Its own
// launcher has no bind-address option: its Jetty server listens on every interface. This one
// builds the server from the same command-line arguments, sets the host of its connector, then
// starts it (and, unlike the jar's own main, never configures telemetry). If the server's
// internals ever change, it says so and exits 3: the caller then starts the jar as it is.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    try {
      Field field = DynamoDBProxyServer.class.getDeclaredField("server");
      field.setAccessible(true);
      Server jetty = (Server) field.get(proxy);
      for (Connector connector : jetty.getConnectors()) {
        ((ServerConnector) connector).setHost("127.0.0.1");
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      System.err.println("LOOPBACK-UNSUPPORTED " + e);
      System.exit(3);
    }
    proxy.start();
  }
}
