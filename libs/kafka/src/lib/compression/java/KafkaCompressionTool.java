// A Kafka producer that is not Tally's code path: the Apache Kafka Java client (kafka-clients and its
// snappy-java, lz4-java and zstd-jni, from the jars `npm run setup` fetches). Run as a single source file:
//   java -cp '.tally/kafka/libs/*' KafkaCompressionTool.java encode <codec>     < raw  > compressed
//       the bytes Kafka's own compression wrapper writes for a record batch (message format v2)
//   java -cp '.tally/kafka/libs/*' KafkaCompressionTool.java produce <bootstrap> <topic> <partition> < records
//       one record a line: <codec> TAB <key base64 or -> TAB <value base64 or -> TAB <header name=base64,... or ->
//       each run of lines with one codec is flushed as its own batch(es), so a partition gets batches of
//       several codecs in the order given; prints each record's offset, one a line
//   java -cp '.tally/kafka/libs/*' KafkaCompressionTool.java consume <bootstrap> <topic> <count>
//       reads <count> records from the start of every partition (30 s at most) with the Java consumer and
//       prints them in the same line format, the partition and offset first: <partition> TAB <offset> TAB ...
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.time.Duration;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.ByteBufferOutputStream;

public class KafkaCompressionTool {
  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "encode" -> encode(args[1]);
      case "produce" -> produce(args[1], args[2], Integer.parseInt(args[3]));
      case "consume" -> consume(args[1], args[2], Integer.parseInt(args[3]));
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  static void encode(String codec) throws Exception {
    byte[] input = System.in.readAllBytes();
    Compression compression = Compression.of(CompressionType.forName(codec)).build();
    ByteBufferOutputStream buffer = new ByteBufferOutputStream(1024);
    try (var out = compression.wrapForOutput(buffer, RecordBatch.CURRENT_MAGIC_VALUE)) {
      out.write(input);
    }
    ByteBuffer result = buffer.buffer();
    result.flip();
    byte[] bytes = new byte[result.remaining()];
    result.get(bytes);
    System.out.write(bytes);
    System.out.flush();
  }

  static void produce(String bootstrap, String topic, int partition) throws Exception {
    Map<String, KafkaProducer<byte[], byte[]>> producers = new HashMap<>();
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String previous = null;
    try {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isEmpty()) continue;
        String[] f = line.split("\t", -1);
        String codec = f[0];
        if (previous != null && !previous.equals(codec)) producers.get(previous).flush();
        previous = codec;
        KafkaProducer<byte[], byte[]> producer = producers.computeIfAbsent(codec, c -> producer(bootstrap, c));
        RecordHeaders headers = new RecordHeaders();
        if (!f[3].equals("-")) {
          for (String h : f[3].split(",")) {
            String[] kv = h.split("=", 2);
            headers.add(kv[0], Base64.getDecoder().decode(kv[1]));
          }
        }
        sent.add(producer.send(new ProducerRecord<>(topic, partition, null, bytes(f[1]), bytes(f[2]), headers)));
      }
      for (KafkaProducer<byte[], byte[]> p : producers.values()) p.flush();
      StringBuilder offsets = new StringBuilder();
      for (Future<RecordMetadata> f : sent) offsets.append(f.get().offset()).append('\n');
      System.out.print(offsets);
    } finally {
      for (KafkaProducer<byte[], byte[]> p : producers.values()) p.close();
    }
  }

  static void consume(String bootstrap, String topic, int count) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "java-reader-" + topic);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    StringBuilder out = new StringBuilder();
    int seen = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 30_000;
      while (seen < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          StringBuilder headers = new StringBuilder();
          for (Header h : r.headers()) headers.append(headers.length() == 0 ? "" : ",").append(h.key()).append('=').append(base64(h.value()));
          out.append(r.partition()).append('\t').append(r.offset()).append('\t').append(base64(r.key())).append('\t')
              .append(base64(r.value())).append('\t').append(headers.length() == 0 ? "-" : headers).append('\n');
          seen++;
        }
      }
    }
    System.out.print(out);
  }

  static String base64(byte[] bytes) {
    return bytes == null ? "-" : Base64.getEncoder().encodeToString(bytes);
  }

  static byte[] bytes(String field) {
    return field.equals("-") ? null : Base64.getDecoder().decode(field);
  }

  static KafkaProducer<byte[], byte[]> producer(String bootstrap, String codec) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "java-" + codec);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    // Large batches, sent when flushed: each run of one codec becomes one batch (or a few, past 1 MiB).
    p.put(ProducerConfig.LINGER_MS_CONFIG, "60000");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(900 * 1024));
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(1024 * 1024));
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }
}
