package hearth.runtime;

import com.amazonaws.services.lambda.runtime.Client;
import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.Socket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Hearth's Lambda Runtime API loop for Java (handler "package.Class::method" or "package.Class" implementing
 * RequestHandler or RequestStreamHandler).
 *
 * The function's code is loaded from /var/task, /var/task/lib/*.jar and the layers' /opt/java/lib/*.jar by a
 * class loader of its own whose parent holds the runtime's interfaces, so a package that bundles
 * aws-lambda-java-core still shares them with the runtime. Events and results are JSON through Jackson, as
 * Lambda's Java runtime converts them; errors are Lambda's documents (errorMessage, errorType as the class's
 * name, stackTrace as "Class.method(File.java:N)" lines, cause).
 */
public final class Bootstrap {
    static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY, true);

    public static void main(String[] args) throws Exception {
        String address = System.getenv("AWS_LAMBDA_RUNTIME_API");
        if (address == null || address.isEmpty()) {
            System.err.println("AWS_LAMBDA_RUNTIME_API is not set");
            System.exit(1);
        }
        RuntimeApi api = new RuntimeApi(address);
        String spec = System.getenv().getOrDefault("_HANDLER", "");
        String taskRoot = System.getenv().getOrDefault("LAMBDA_TASK_ROOT", "/var/task");
        Handler handler;
        try {
            handler = Handler.load(spec, functionClassLoader(taskRoot));
        } catch (Throwable error) {
            Throwable reported = error instanceof InvocationTargetException && error.getCause() != null ? error.getCause() : error;
            Map<String, Object> document = errorDocument(reported);
            System.out.println("Error loading handler " + spec + ": " + JSON.writeValueAsString(document));
            api.request("POST", "/init/error", JSON.writeValueAsBytes(document),
                    Map.of("Lambda-Runtime-Function-Error-Type", String.valueOf(document.get("errorType"))));
            System.exit(1);
            return;
        }
        while (true) {
            RuntimeApi.Response next = api.request("GET", "/invocation/next", new byte[0], Map.of());
            String requestId = next.headers.getOrDefault("lambda-runtime-aws-request-id", "");
            String trace = next.headers.get("lambda-runtime-trace-id");
            if (trace != null) {
                System.setProperty("com.amazonaws.xray.traceHeader", trace);
            } else {
                System.clearProperty("com.amazonaws.xray.traceHeader");
            }
            byte[] result;
            try {
                result = handler.invoke(next.body, new InvocationContext(next.headers));
            } catch (Throwable error) {
                Map<String, Object> document = errorDocument(error);
                System.out.println(JSON.writeValueAsString(document));
                api.request("POST", "/invocation/" + requestId + "/error", JSON.writeValueAsBytes(document),
                        Map.of("Lambda-Runtime-Function-Error-Type", String.valueOf(document.get("errorType"))));
                continue;
            } finally {
                System.out.flush();
                System.err.flush();
            }
            api.request("POST", "/invocation/" + requestId + "/response", result, Map.of());
        }
    }

    /** The function's classes: the task root, its lib/*.jar, then the layers' java/lib/*.jar, each directory's jars in name order. */
    static ClassLoader functionClassLoader(String taskRoot) throws IOException {
        List<URL> urls = new ArrayList<>();
        urls.add(new File(taskRoot).toURI().toURL());
        for (String dir : new String[] {taskRoot + "/lib", "/opt/java/lib"}) {
            File[] jars = new File(dir).listFiles((d, name) -> name.endsWith(".jar"));
            if (jars == null) continue;
            Arrays.sort(jars);
            for (File jar : jars) urls.add(jar.toURI().toURL());
        }
        return new URLClassLoader(urls.toArray(new URL[0]), Bootstrap.class.getClassLoader());
    }

    /** Lambda's error document, with the cause's own document nested (a cause that is the error itself is not). */
    static Map<String, Object> errorDocument(Throwable error) {
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("errorMessage", error.getMessage());
        document.put("errorType", error.getClass().getName());
        List<String> frames = new ArrayList<>();
        for (StackTraceElement frame : ownFrames(error.getStackTrace())) {
            String where = frame.getFileName() == null ? "Unknown Source"
                    : frame.getLineNumber() >= 0 ? frame.getFileName() + ":" + frame.getLineNumber() : frame.getFileName();
            frames.add(frame.getClassName() + "." + frame.getMethodName() + "(" + where + ")");
        }
        document.put("stackTrace", frames);
        Throwable cause = error.getCause();
        if (cause != null && cause != error) document.put("cause", errorDocument(cause));
        return document;
    }

    /** The function's frames: the runtime's own, and the reflection that called the handler, are cut. */
    static List<StackTraceElement> ownFrames(StackTraceElement[] trace) {
        List<StackTraceElement> frames = new ArrayList<>();
        for (StackTraceElement frame : trace) {
            if (!frame.getClassName().startsWith("hearth.runtime.")) frames.add(frame);
        }
        while (!frames.isEmpty()) {
            String last = frames.get(frames.size() - 1).getClassName();
            if (!last.startsWith("jdk.internal.reflect.") && !last.startsWith("java.lang.reflect.")) break;
            frames.remove(frames.size() - 1);
        }
        return frames;
    }

    /** How the handler is called: the method, its object, and what its parameters take. */
    static final class Handler {
        final Object target;
        final Method method;
        final boolean stream;
        final JavaType input;
        final boolean takesContext;

        private Handler(Object target, Method method, boolean stream, JavaType input, boolean takesContext) {
            this.target = target;
            this.method = method;
            this.stream = stream;
            this.input = input;
            this.takesContext = takesContext;
        }

        static Handler load(String spec, ClassLoader loader) throws Exception {
            String className = spec, methodName = null;
            int colons = spec.indexOf("::");
            if (colons >= 0) {
                className = spec.substring(0, colons);
                methodName = spec.substring(colons + 2);
            }
            if (className.isEmpty()) throw new IllegalArgumentException("Bad handler " + spec + ": expected package.Class or package.Class::method");
            Class<?> type;
            try {
                type = Class.forName(className, true, loader);
            } catch (ClassNotFoundException e) {
                throw new ClassNotFoundException("Class not found: " + className, e);
            }
            if (methodName == null) {
                if (RequestStreamHandler.class.isAssignableFrom(type) || RequestHandler.class.isAssignableFrom(type)) {
                    methodName = "handleRequest";
                } else {
                    throw new IllegalArgumentException("Class " + className
                            + " does not implement RequestHandler or RequestStreamHandler; name its method as " + className + "::method");
                }
            }
            Method chosen = choose(type, methodName);
            if (chosen == null) throw new NoSuchMethodException("No public method named " + methodName + " with appropriate method signature found on " + type);
            Object target = Modifier.isStatic(chosen.getModifiers()) ? null : type.getDeclaredConstructor().newInstance();
            Class<?>[] params = chosen.getParameterTypes();
            boolean stream = params.length == 3;
            JavaType input = params.length >= 1 && !stream ? JSON.getTypeFactory().constructType(chosen.getGenericParameterTypes()[0]) : null;
            boolean takesContext = stream || (params.length == 2);
            chosen.setAccessible(true);
            return new Handler(target, chosen, stream, input, takesContext);
        }

        /** The public method of that name taking (InputStream, OutputStream, Context), (event, Context), (event) or (); not a bridge. */
        static Method choose(Class<?> type, String name) {
            Method best = null;
            for (Method m : type.getMethods()) {
                if (!m.getName().equals(name) || m.isBridge() || m.isSynthetic()) continue;
                Class<?>[] p = m.getParameterTypes();
                boolean fits = switch (p.length) {
                    case 0, 1 -> true;
                    case 2 -> Context.class.isAssignableFrom(p[1]);
                    case 3 -> p[0] == InputStream.class && p[1] == OutputStream.class && Context.class.isAssignableFrom(p[2]);
                    default -> false;
                };
                if (fits && (best == null || p.length > best.getParameterCount())) best = m;
            }
            return best;
        }

        byte[] invoke(byte[] event, Context context) throws Throwable {
            try {
                if (stream) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    method.invoke(target, new ByteArrayInputStream(event), out, context);
                    return out.toByteArray();
                }
                Object[] args;
                if (input == null) {
                    args = new Object[0];
                } else {
                    Object value = decode(event);
                    args = takesContext ? new Object[] {value, context} : new Object[] {value};
                }
                Object result = method.invoke(target, args);
                return JSON.writeValueAsBytes(result);
            } catch (InvocationTargetException e) {
                throw e.getCause() != null ? e.getCause() : e;
            }
        }

        private Object decode(byte[] event) {
            if (input.getRawClass() == InputStream.class) return new ByteArrayInputStream(event);
            try {
                return event.length == 0 ? null : JSON.readValue(event, input);
            } catch (IOException e) {
                throw new RuntimeException("An error occurred during JSON parsing", e);
            }
        }
    }

    /** The context of one invocation, from the Runtime API's headers and the environment. */
    static final class InvocationContext implements Context {
        private final Map<String, String> headers;
        private final long deadlineMs;

        InvocationContext(Map<String, String> headers) {
            this.headers = headers;
            long deadline;
            try {
                deadline = Long.parseLong(headers.getOrDefault("lambda-runtime-deadline-ms", "0"));
            } catch (NumberFormatException e) {
                deadline = 0;
            }
            this.deadlineMs = deadline;
        }

        public String getAwsRequestId() { return headers.get("lambda-runtime-aws-request-id"); }
        public String getLogGroupName() { return System.getenv("AWS_LAMBDA_LOG_GROUP_NAME"); }
        public String getLogStreamName() { return System.getenv("AWS_LAMBDA_LOG_STREAM_NAME"); }
        public String getFunctionName() { return System.getenv("AWS_LAMBDA_FUNCTION_NAME"); }
        public String getFunctionVersion() { return System.getenv("AWS_LAMBDA_FUNCTION_VERSION"); }
        public String getInvokedFunctionArn() { return headers.get("lambda-runtime-invoked-function-arn"); }

        public int getRemainingTimeInMillis() {
            return (int) Math.max(0, Math.min(Integer.MAX_VALUE, deadlineMs - System.currentTimeMillis()));
        }

        public int getMemoryLimitInMB() {
            try {
                return Integer.parseInt(System.getenv().getOrDefault("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"));
            } catch (NumberFormatException e) {
                return 0;
            }
        }

        public LambdaLogger getLogger() { return StdoutLogger.INSTANCE; }

        public CognitoIdentity getIdentity() {
            Map<String, Object> identity = parse(headers.get("lambda-runtime-cognito-identity"));
            if (identity == null) return null;
            return new CognitoIdentity() {
                public String getIdentityId() { return string(identity.get("cognitoIdentityId")); }
                public String getIdentityPoolId() { return string(identity.get("cognitoIdentityPoolId")); }
            };
        }

        @SuppressWarnings("unchecked")
        public ClientContext getClientContext() {
            Map<String, Object> context = parse(headers.get("lambda-runtime-client-context"));
            if (context == null) return null;
            Map<String, Object> client = context.get("client") instanceof Map ? (Map<String, Object>) context.get("client") : Map.of();
            return new ClientContext() {
                public Client getClient() {
                    return new Client() {
                        public String getInstallationId() { return string(client.get("installation_id")); }
                        public String getAppTitle() { return string(client.get("app_title")); }
                        public String getAppVersionName() { return string(client.get("app_version_name")); }
                        public String getAppVersionCode() { return string(client.get("app_version_code")); }
                        public String getAppPackageName() { return string(client.get("app_package_name")); }
                    };
                }
                public Map<String, String> getCustom() { return strings(context.get("custom")); }
                public Map<String, String> getEnvironment() { return strings(context.get("env")); }
            };
        }

        @SuppressWarnings("unchecked")
        private static Map<String, Object> parse(String json) {
            if (json == null || json.isEmpty()) return null;
            try {
                Object value = JSON.readValue(json, Object.class);
                return value instanceof Map ? (Map<String, Object>) value : null;
            } catch (IOException e) {
                return null;
            }
        }

        private static String string(Object value) { return value == null ? null : String.valueOf(value); }

        private static Map<String, String> strings(Object value) {
            Map<String, String> out = new LinkedHashMap<>();
            if (value instanceof Map<?, ?> map) map.forEach((k, v) -> out.put(String.valueOf(k), string(v)));
            return out;
        }
    }

    /** Lambda's logger in text format: the message as given, on the function's stdout. */
    enum StdoutLogger implements LambdaLogger {
        INSTANCE;

        public void log(String message) {
            System.out.print(message);
            System.out.flush();
        }

        public void log(byte[] message) {
            System.out.write(message, 0, message.length);
            System.out.flush();
        }
    }

    /** One kept-alive HTTP/1.1 connection to the Runtime API, spoken by hand as the other runtimes' loops do. */
    static final class RuntimeApi {
        static final class Response {
            final int status;
            final Map<String, String> headers;
            final byte[] body;

            Response(int status, Map<String, String> headers, byte[] body) {
                this.status = status;
                this.headers = headers;
                this.body = body;
            }
        }

        private final String host;
        private final int port;
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        RuntimeApi(String address) {
            int colon = address.lastIndexOf(':');
            host = colon > 0 ? address.substring(0, colon) : "127.0.0.1";
            port = Integer.parseInt(address.substring(colon + 1));
        }

        Response request(String method, String path, byte[] body, Map<String, String> headers) throws IOException {
            if (socket == null) {
                socket = new Socket(host, port);
                socket.setTcpNoDelay(true);
                in = new java.io.BufferedInputStream(socket.getInputStream(), 65536);
                out = socket.getOutputStream();
            }
            StringBuilder head = new StringBuilder();
            head.append(method).append(" /2018-06-01/runtime").append(path).append(" HTTP/1.1\r\nHost: ")
                    .append(host).append(':').append(port).append("\r\nContent-Length: ").append(body.length).append("\r\n");
            for (Map.Entry<String, String> h : headers.entrySet()) head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
            head.append("\r\n");
            byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
            byte[] request = Arrays.copyOf(headBytes, headBytes.length + body.length);
            System.arraycopy(body, 0, request, headBytes.length, body.length);
            out.write(request);
            out.flush();
            return readResponse();
        }

        private Response readResponse() throws IOException {
            String status = readLine();
            String[] parts = status.split(" ", 3);
            int code = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
            Map<String, String> headers = new LinkedHashMap<>();
            for (String line = readLine(); !line.isEmpty(); line = readLine()) {
                int colon = line.indexOf(':');
                if (colon > 0) headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
            int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
            byte[] body = in.readNBytes(length);
            if (body.length != length) throw new IOException("the Runtime API closed the connection");
            return new Response(code, headers, body);
        }

        private String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) != '\n') {
                if (b < 0) throw new IOException("the Runtime API closed the connection");
                if (b != '\r') line.write(b);
            }
            return line.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private Bootstrap() {}
}
